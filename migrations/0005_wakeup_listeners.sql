-- Wake-ups that do not serialize producers.
--
-- A NOTIFY makes its transaction take a database-wide lock at commit, held
-- through the commit's WAL flush: every notifying producer commits alone, one
-- fsync after another. So an insert notifies a queue only while some
-- dispatcher of that queue is idle and asked for it ("armed", in listeners);
-- a busy dispatcher finds new jobs by claiming, and producers then commit in
-- parallel (group commit).
--
-- No wake-up is lost: the trigger takes a shared advisory lock on the queue's
-- key before it reads listeners, and holds it to its commit. A dispatcher
-- arms in three steps: (1) it marks itself armed and commits; (2) it takes
-- and releases the same key exclusively, which waits for every producer that
-- may have read listeners before (1) was visible; (3) it claims. A producer
-- that read "not armed" has committed its job before (3), so (3) sees it; a
-- producer that reads after (1) notifies. Outside READ COMMITTED a statement
-- may read listeners with an older snapshot, so those transactions always
-- notify.

-- Dispatchers that serve a queue; armed: idle, wake me with NOTIFY.
-- Unlogged: after a server crash it is empty, and dispatchers arm again when
-- they reconnect; until then producers notify nobody and the dispatchers'
-- reconnect claims catch up.
CREATE UNLOGGED TABLE listeners (
    queue TEXT NOT NULL,
    listener TEXT NOT NULL,
    armed BOOLEAN NOT NULL DEFAULT true,
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, listener)
);

-- Overlapping producer transactions seen (see above).
CREATE SEQUENCE producer_contention;

-- The advisory lock key of the schema's producers (the contention probe).
CREATE FUNCTION producers_lock_key(schema_name text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('seesaw.producers.' || schema_name, 0)
$$;

-- The advisory lock key of a queue's wake-up.
CREATE FUNCTION wakeup_lock_key(schema_name text, queue text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('seesaw.wakeup.' || schema_name || '.' || queue, 0)
$$;

-- One function for everything an insert statement does after the rows are
-- in: the stats() change rows and the wake-ups.
CREATE FUNCTION jobs_after_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    wake record;
    always_notify boolean := current_setting('transaction_isolation') <> 'read committed';
BEGIN
    INSERT INTO job_counts (queue, status, n)
    SELECT queue, status, count(*) FROM inserted_jobs GROUP BY queue, status;

    IF NOT pg_try_advisory_xact_lock(producers_lock_key(TG_TABLE_SCHEMA)) THEN
        PERFORM nextval('producer_contention');
    END IF;

    FOR wake IN
        SELECT queue,
               bool_or(run_at <= now()) AS ready,
               min(run_at) FILTER (WHERE run_at > now()) AS next_run_at
        FROM inserted_jobs
        WHERE status IN ('pending', 'failed')
        GROUP BY queue
    LOOP
        IF wake.ready THEN
            PERFORM pg_advisory_xact_lock_shared(wakeup_lock_key(TG_TABLE_SCHEMA, wake.queue));
            IF always_notify OR EXISTS (SELECT 1 FROM listeners AS l
                                        WHERE l.queue = wake.queue AND l.armed) THEN
                PERFORM pg_notify(notify_channel(TG_TABLE_SCHEMA, 'ready'), wake.queue);
            END IF;
        END IF;
        IF wake.next_run_at IS NOT NULL THEN
            PERFORM pg_notify(notify_channel(TG_TABLE_SCHEMA, 'scheduled'),
                ceil(extract(epoch FROM wake.next_run_at - now()) * 1000)::bigint || ' ' || wake.queue);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

DROP TRIGGER jobs_notify_insert ON jobs;
DROP TRIGGER jobs_count_insert ON jobs;
DROP FUNCTION jobs_notify_insert();
DROP FUNCTION jobs_count_insert();
CREATE TRIGGER jobs_after_insert
    AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_after_insert();

-- retry_dead_letters wakes armed dispatchers the same way.
CREATE FUNCTION wake_queue(schema_name text, queue text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(wakeup_lock_key(schema_name, queue));
    IF current_setting('transaction_isolation') <> 'read committed'
       OR EXISTS (SELECT 1 FROM listeners AS l WHERE l.queue = wake_queue.queue AND l.armed) THEN
        PERFORM pg_notify(notify_channel(schema_name, 'ready'), queue);
    END IF;
END
$$;

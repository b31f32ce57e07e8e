-- Job control: cancellation, snoozes, paused queues.
--
-- A new value of the job state, added here: a value added in a transaction
-- cannot be used in that transaction on a schema migrated before (the
-- migrator applies all pending migrations in one), so nothing below writes
-- or compares 'cancelled' outside a PL/pgSQL body, which is not parsed
-- until it runs.

-- 1. Cancellation. cancelled is terminal, like succeeded and dead_letter:
-- the job never runs again. A pending, failed (awaiting its retry) or
-- running job can be cancelled; a running one's dispatcher is told on the
-- schema's control channel ("cancel <id> <id> ...", at most 100 ids per
-- notification) and stops treating the job as its own: whatever its handler
-- does afterwards is not written. A cancelled job frees its unique key.
ALTER TYPE job_status ADD VALUE IF NOT EXISTS 'cancelled';

-- Cleanup by age covers every finished state (and names none that is new).
DROP INDEX idx_jobs_finished;
CREATE INDEX idx_jobs_finished ON jobs (status, updated_at)
    WHERE status NOT IN ('pending', 'running', 'failed');

-- Cancels the jobs named by job_ids (NULL: every unfinished job), of one
-- type and one queue when given. One row per job found: its state before,
-- and whether this call cancelled it (false: it had finished already, and
-- nothing changed). Locks the rows in id order.
CREATE FUNCTION cancel_jobs(job_ids uuid[], of_type text DEFAULT NULL, in_queue text DEFAULT NULL)
RETURNS TABLE (job_id uuid, previous_status job_status, cancelled boolean)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RETURN QUERY
    WITH target AS MATERIALIZED (
        SELECT j.id, j.status FROM jobs AS j
        WHERE (job_ids IS NULL OR j.id = ANY (job_ids))
          AND (of_type IS NULL OR j.job_type = of_type)
          AND (in_queue IS NULL OR j.queue = in_queue)
          AND (job_ids IS NOT NULL OR j.status IN ('pending', 'running', 'failed'))
        ORDER BY j.id FOR UPDATE),
    done AS (
        UPDATE jobs AS j SET status = 'cancelled', lease_expires_at = NULL, lease_ticket = NULL, updated_at = now()
        FROM target AS t WHERE j.id = t.id AND t.status IN ('pending', 'running', 'failed')
        RETURNING j.id),
    told AS (
        SELECT pg_notify(notify_channel(current_schema(), 'control'), 'cancel ' || string_agg(r.id::text, ' '))
        FROM (SELECT t.id, (row_number() OVER (ORDER BY t.id) - 1) / 100 AS chunk
              FROM target AS t WHERE t.status = 'running') AS r
        GROUP BY r.chunk)
    SELECT t.id, t.status, d.id IS NOT NULL
    FROM target AS t LEFT JOIN done AS d ON d.id = t.id, (SELECT count(*) FROM told) AS w
    ORDER BY t.id;
END
$$;

-- 2. Snoozes. A handler may ask to run again later without the run counting
-- as a failed attempt: the job goes back to pending with its next attempt
-- number, and snoozes counts them. Runs that count toward max_retries:
-- attempt - uncounted_attempts - snoozes.
ALTER TABLE jobs
    ADD COLUMN snoozes integer NOT NULL DEFAULT 0,
    DROP CONSTRAINT jobs_uncounted_attempts_below_attempt,
    ADD CONSTRAINT jobs_uncounted_attempts_and_snoozes_below_attempt
        CHECK (uncounted_attempts >= 0 AND snoozes >= 0 AND uncounted_attempts + snoozes < attempt);

-- 3. Paused queues. While a queue has a row here no dispatcher claims from
-- it (the claim reads this table); jobs are still enqueued, and running ones
-- finish. Pausing and resuming tell the dispatchers on the control channel
-- ("pause <queue>", "resume <queue>").
CREATE TABLE queue_pauses (
    queue TEXT PRIMARY KEY,
    paused_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT queue_pauses_queue_not_empty_at_most_128_bytes CHECK (queue <> '' AND octet_length(queue) <= 128)
);

-- True: paused by this call; false: it was paused already.
CREATE FUNCTION pause_queue(queue_name text) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO queue_pauses (queue) VALUES (queue_name) ON CONFLICT (queue) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_notify(notify_channel(current_schema(), 'control'), 'pause ' || queue_name);
    RETURN true;
END
$$;

-- True: resumed by this call; false: it was not paused.
CREATE FUNCTION resume_queue(queue_name text) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM queue_pauses WHERE queue = queue_name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_notify(notify_channel(current_schema(), 'control'), 'resume ' || queue_name);
    RETURN true;
END
$$;

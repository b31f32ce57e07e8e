-- Wake-up on insert: one NOTIFY per statement per queue (never one per row)
-- on a channel named after the schema, so two schemas never wake each other.
-- Jobs whose run_at is in the future do not wake anyone on that channel; a
-- statement that inserts some tells dispatchers, once per queue, on the
-- schema's scheduling channel, with the milliseconds until the earliest one.

-- The channel names of a schema. NOTIFY channels are identifiers (at most 63
-- bytes): long schema names are replaced by their md5.
CREATE FUNCTION notify_channel(schema_name text, kind text DEFAULT 'ready') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'seesaw.'
        || CASE WHEN octet_length(schema_name) <= 40 THEN schema_name ELSE md5(schema_name) END
        || CASE WHEN kind = 'ready' THEN '' ELSE '.' || kind END
$$;

CREATE FUNCTION jobs_notify_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    ready_channel text := notify_channel(TG_TABLE_SCHEMA, 'ready');
    scheduled_channel text := notify_channel(TG_TABLE_SCHEMA, 'scheduled');
    wake record;
BEGIN
    FOR wake IN
        SELECT queue,
               bool_or(run_at <= now()) AS ready,
               min(run_at) FILTER (WHERE run_at > now()) AS next_run_at
        FROM inserted_jobs
        WHERE status IN ('pending', 'failed')
        GROUP BY queue
    LOOP
        IF wake.ready THEN
            PERFORM pg_notify(ready_channel, wake.queue);
        END IF;
        IF wake.next_run_at IS NOT NULL THEN
            PERFORM pg_notify(scheduled_channel,
                ceil(extract(epoch FROM wake.next_run_at - now()) * 1000)::bigint || ' ' || wake.queue);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_insert
    AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_insert();

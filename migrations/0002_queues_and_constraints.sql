-- Named queues, the claim's index, constraints that keep bad rows out, and
-- an id default so that a plain INSERT (job_type, payload) from any language
-- makes a runnable job.

-- UUIDv7 (RFC 9562) from the database clock: 48 bits of Unix milliseconds,
-- version 7, then random bits, like the ids the library generates.
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_byte(
            overlay(b PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            6, (get_byte(b, 6) & 15) | 112),  -- version 7; the variant bits of v4 are already 10
        'hex')::uuid
    FROM (SELECT uuid_send(gen_random_uuid()) AS b) AS random_uuid
$$;

ALTER TABLE jobs
    ALTER COLUMN id SET DEFAULT uuid_v7(),
    ADD COLUMN queue TEXT NOT NULL DEFAULT 'default',
    ADD CONSTRAINT jobs_job_type_not_empty CHECK (job_type <> ''),
    ADD CONSTRAINT jobs_queue_not_empty CHECK (queue <> ''),
    ADD CONSTRAINT jobs_max_retries_not_negative CHECK (max_retries >= 0),
    ADD CONSTRAINT jobs_attempt_positive CHECK (attempt >= 1),
    ADD CONSTRAINT jobs_running_has_lease CHECK (status <> 'running' OR (worker_id IS NOT NULL AND lease_expires_at IS NOT NULL));

-- The claim: one queue, claimable states, smallest priority first, then
-- earliest run_at, then id.
DROP INDEX idx_jobs_ready;
CREATE INDEX idx_jobs_ready ON jobs (queue, priority, run_at, id)
    WHERE status IN ('pending', 'failed');

-- Cleanup of finished jobs by age.
CREATE INDEX idx_jobs_finished ON jobs (status, updated_at)
    WHERE status IN ('succeeded', 'dead_letter');

-- Unique jobs: at most one job of a type per unique key (and per time
-- bucket, for keys unique within a period) among the jobs whose state is one
-- of the job's unique_states. The database enforces it (a unique partial
-- index), so producers racing in many processes, or in plain SQL, insert one
-- job per key; the others find the one that won (INSERT … ON CONFLICT DO
-- NOTHING, then a lookup).
--
--   unique_key     the key (NULL: the job is not unique)
--   unique_states  the states in which the job holds its key. They always
--                  include pending, running and failed (the job is not
--                  finished), so that no transition of a live job can
--                  collide with another; succeeded and dead_letter may be
--                  added (a finished job then keeps its key until it is
--                  deleted).
--   unique_bucket  for a key unique within a period: the start of the period
--                  the job was enqueued in (the database's now(), rounded
--                  down to a multiple of the period since 1970); NULL
--                  otherwise. A key in two buckets is two keys.
ALTER TABLE jobs
    ADD COLUMN unique_key text,
    ADD COLUMN unique_states job_status[],
    ADD COLUMN unique_bucket timestamptz,
    ADD CONSTRAINT jobs_unique_key_not_empty_at_most_1024_bytes
        CHECK (unique_key <> '' AND octet_length(unique_key) <= 1024),
    ADD CONSTRAINT jobs_unique_states_given_with_a_key_and_hold_the_live_states
        CHECK ((unique_key IS NULL AND unique_states IS NULL AND unique_bucket IS NULL)
               OR (unique_key IS NOT NULL AND unique_states IS NOT NULL
                   AND unique_states @> ARRAY['pending', 'running', 'failed']::job_status[])),
    ADD CONSTRAINT jobs_unique_bucket_finite
        CHECK (unique_bucket > '-infinity' AND unique_bucket < '294247-01-01+00');

CREATE UNIQUE INDEX jobs_unique_key ON jobs (job_type, unique_key, unique_bucket) NULLS NOT DISTINCT
    WHERE unique_key IS NOT NULL AND status = ANY (unique_states);

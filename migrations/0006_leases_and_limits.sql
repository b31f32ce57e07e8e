-- Two things: what a lease that expires before its handler started counts
-- for, and limits that keep out rows no dispatcher could handle.
--
-- Functions here resolve the schema's objects through their own search_path
-- (SET search_path FROM CURRENT: the migrator's, this schema and pg_temp),
-- never through a schema name written into their text.

-- 1. Leases held ahead of a free worker.
--
-- A dispatcher claims more jobs than it has free workers (prefetch); they
-- wait in memory, leased to it. A claim marks the jobs that go straight to a
-- free worker as started (lease_ticket NULL); the others get increasing
-- tickets, per dispatcher and queue, in the order its workers take them
-- (from first_ticket, which a dispatcher picks above any ticket an earlier
-- process with the same worker id used). The dispatcher records in
-- worker_progress how far its workers have got (started_through: every job
-- it holds with a ticket from first_ticket up to it has started). When a
-- lease expires, reclaim counts the attempt only if the job
-- had started; a job that had not goes back to pending, its attempt number
-- moves on (a run that began just before the dispatcher died, and was not
-- recorded yet, is never repeated under the same attempt), and
-- uncounted_attempts keeps it from using up a retry. Such a job is claimed
-- again only straight into a free worker, so that a job that kills its
-- worker every time is counted every time from then on.
ALTER TABLE jobs
    ADD COLUMN lease_ticket bigint,
    ADD COLUMN uncounted_attempts integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT jobs_uncounted_attempts_below_attempt CHECK (uncounted_attempts >= 0 AND uncounted_attempts < attempt);

CREATE TABLE worker_progress (
    worker_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    first_ticket BIGINT NOT NULL,
    started_through BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (worker_id, queue, first_ticket)
);

-- 2. Limits.
--
-- Times: finite, and within what seesaw's clients hold (microseconds since
-- 1970 in 64 bits: up to the year 294247). An infinite run_at made every
-- claim of its queue fail while converting it.
-- Names: a queue name travels in NOTIFY payloads (at most 8000 bytes) and
-- both names in every claim; 128 and 255 bytes leave room for any sensible
-- name.
-- Counts: attempts stay far from integer overflow.
--
-- Rows already here that break a limit are mended first: out-of-range times
-- become now() (a run_at after the limit becomes the limit), and jobs whose
-- names are too long are dead-lettered with the reason (no dispatcher can
-- serve them; they stay for an operator to read).
UPDATE jobs SET run_at = CASE WHEN run_at < now() OR run_at = '-infinity' THEN now()
                              ELSE '294246-12-31 23:59:59+00' END
    WHERE NOT (run_at > '-infinity' AND run_at < '294247-01-01+00');
UPDATE jobs SET created_at = now() WHERE NOT (created_at > '-infinity' AND created_at < '294247-01-01+00');
UPDATE jobs SET updated_at = now() WHERE NOT (updated_at > '-infinity' AND updated_at < '294247-01-01+00');
UPDATE jobs SET lease_expires_at = now()
    WHERE lease_expires_at IS NOT NULL AND NOT (lease_expires_at > '-infinity' AND lease_expires_at < '294247-01-01+00');
UPDATE jobs SET status = 'dead_letter', lease_expires_at = NULL, error_kind = 'non_retryable', updated_at = now(),
                error_message = 'dead-lettered by migration 6: the queue name is longer than 128 bytes or the job type longer than 255 bytes'
    WHERE (octet_length(queue) > 128 OR octet_length(job_type) > 255) AND status <> 'dead_letter';
UPDATE jobs SET attempt = 1000000000 WHERE attempt > 1000000000;
UPDATE jobs SET max_retries = 1000000000 WHERE max_retries > 1000000000;

ALTER TABLE jobs
    ADD CONSTRAINT jobs_run_at_finite_and_before_294247 CHECK (run_at > '-infinity' AND run_at < '294247-01-01+00'),
    ADD CONSTRAINT jobs_created_at_finite_and_before_294247 CHECK (created_at > '-infinity' AND created_at < '294247-01-01+00'),
    ADD CONSTRAINT jobs_updated_at_finite_and_before_294247 CHECK (updated_at > '-infinity' AND updated_at < '294247-01-01+00'),
    ADD CONSTRAINT jobs_lease_expires_at_finite_and_before_294247
        CHECK (lease_expires_at > '-infinity' AND lease_expires_at < '294247-01-01+00'),
    ADD CONSTRAINT jobs_attempt_at_most_1000000000 CHECK (attempt <= 1000000000),
    ADD CONSTRAINT jobs_max_retries_at_most_1000000000 CHECK (max_retries <= 1000000000);
-- Rows dead-lettered above keep their names; every other row is checked.
ALTER TABLE jobs
    ADD CONSTRAINT jobs_queue_at_most_128_bytes CHECK (octet_length(queue) <= 128) NOT VALID,
    ADD CONSTRAINT jobs_job_type_at_most_255_bytes CHECK (octet_length(job_type) <= 255) NOT VALID;

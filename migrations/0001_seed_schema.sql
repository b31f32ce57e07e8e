-- The seed's schema (seesaw-job-postgres), table, columns and types unchanged.
-- One fix: the seed's ready index had "AND run_at <= NOW()" in its predicate,
-- which PostgreSQL rejects (functions in an index predicate must be
-- IMMUTABLE), so the migration never ran. The predicate keeps the state only;
-- run_at is a key column. 0002 reshapes it for queues.
CREATE TYPE job_status AS ENUM ('pending', 'running', 'succeeded', 'failed', 'dead_letter');
CREATE TYPE error_kind AS ENUM ('retryable', 'non_retryable');

CREATE TABLE jobs (
    id UUID PRIMARY KEY,
    job_type TEXT NOT NULL,
    payload JSONB NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,

    -- Execution
    status job_status NOT NULL DEFAULT 'pending',
    attempt INTEGER NOT NULL DEFAULT 1,
    max_retries INTEGER NOT NULL DEFAULT 3,

    -- Scheduling
    priority INTEGER NOT NULL DEFAULT 0,
    run_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),

    -- Worker tracking
    worker_id TEXT,
    lease_expires_at TIMESTAMPTZ,

    -- Error tracking
    error_message TEXT,
    error_kind error_kind,

    -- Timestamps
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_jobs_ready ON jobs (priority, run_at)
    WHERE status = 'pending';
CREATE INDEX idx_jobs_lease ON jobs (lease_expires_at)
    WHERE status = 'running' AND lease_expires_at IS NOT NULL;

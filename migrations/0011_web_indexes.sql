-- The job list of the dashboard (seesaw web): newest or oldest first by id,
-- a UUIDv7 (its leading bits are the creation time). Partial indexes, on the
-- states an operator browses and the engine seldom writes: failed (awaiting
-- a retry), dead_letter and cancelled. A job that goes pending -> running ->
-- succeeded never has an entry in them, so the hot path (enqueue, claim,
-- completion: updates that are not HOT, each adding an entry to every full
-- index) pays nothing for them; full indexes on (status, id), (job_type, id)
-- and (queue, id) cost the engine a third of its throughput. A list filtered
-- by one of these states (with or without a type or a queue) reads one of
-- them in id order and stops after a page; every other list reads at most
-- 10,000 rows of the primary key per page (cli/src/web/api.cpp).
--
-- The predicate names the states outside them: 'cancelled' was added to the
-- enum by 0009, and a value added in a transaction cannot be used in it (the
-- migrator applies all pending migrations in one). The job list's query
-- repeats the predicate word for word, so that the planner uses the indexes.
--
-- IF NOT EXISTS: on a big table, create them first with CREATE INDEX
-- CONCURRENTLY (this migration's transaction would block writes while it
-- builds them), and the migration leaves them as they are.
CREATE INDEX IF NOT EXISTS idx_jobs_browse_status_id ON jobs (status, id)
    WHERE status NOT IN ('pending', 'running', 'succeeded');
CREATE INDEX IF NOT EXISTS idx_jobs_browse_type_id ON jobs (job_type, id)
    WHERE status NOT IN ('pending', 'running', 'succeeded');
CREATE INDEX IF NOT EXISTS idx_jobs_browse_queue_id ON jobs (queue, id)
    WHERE status NOT IN ('pending', 'running', 'succeeded');

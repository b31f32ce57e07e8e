-- The job list of the dashboard (seesaw web): newest or oldest first by id,
-- a UUIDv7 (its leading bits are the creation time), filtered by state, type
-- or queue. Each filter reads its own index in id order and stops after one
-- page, however many jobs the table holds; the primary key serves the list
-- without a filter. IF NOT EXISTS: on a big table, create them first with
-- CREATE INDEX CONCURRENTLY (this migration's transaction would block writes
-- while it builds them), and the migration leaves them as they are.
CREATE INDEX IF NOT EXISTS idx_jobs_status_id ON jobs (status, id);
CREATE INDEX IF NOT EXISTS idx_jobs_type_id ON jobs (job_type, id);
CREATE INDEX IF NOT EXISTS idx_jobs_queue_id ON jobs (queue, id);

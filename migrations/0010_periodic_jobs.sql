-- Periodic jobs: the schedules that dispatchers register, as the
-- maintenance leader last saw them. One row per schedule name.
--
-- last_slot is the latest slot whose job was inserted: a slot's job is
-- inserted in the same statement that moves last_slot past the slot before
-- (UPDATE ... WHERE last_slot < slot), so whatever the number of leaders, a
-- slot is inserted once. Its job also carries the unique key
-- 'periodic:<name>:<slot>'.
CREATE TABLE periodic_schedules (
    name TEXT PRIMARY KEY,
    expression TEXT NOT NULL,
    job_type TEXT NOT NULL,
    queue TEXT NOT NULL,
    last_slot TIMESTAMPTZ,
    next_slot TIMESTAMPTZ,
    worker_id TEXT NOT NULL,  -- the leader that recorded it last
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT periodic_schedules_name_not_empty_at_most_255_bytes CHECK (name <> '' AND octet_length(name) <= 255)
);

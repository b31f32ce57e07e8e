-- stats() without counting the table: every statement that inserts, updates
-- or deletes jobs appends its net change per (queue, status) to job_counts,
-- in the same transaction. Appends never wait on each other (no hot row), a
-- statement that changes no status (a heartbeat) appends nothing, and
-- compact_job_counts() folds the rows into one per (queue, status).
CREATE TABLE job_counts (
    queue TEXT NOT NULL,
    status job_status NOT NULL,
    n BIGINT NOT NULL
);

INSERT INTO job_counts (queue, status, n)
SELECT queue, status, count(*) FROM jobs GROUP BY queue, status;

CREATE FUNCTION jobs_count_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO job_counts (queue, status, n)
    SELECT queue, status, count(*) FROM inserted_jobs GROUP BY queue, status;
    RETURN NULL;
END
$$;

CREATE FUNCTION jobs_count_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO job_counts (queue, status, n)
    SELECT queue, status, sum(n)
    FROM (SELECT queue, status, count(*) AS n FROM new_jobs GROUP BY queue, status
          UNION ALL
          SELECT queue, status, -count(*) FROM old_jobs GROUP BY queue, status) AS change
    GROUP BY queue, status
    HAVING sum(n) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION jobs_count_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO job_counts (queue, status, n)
    SELECT queue, status, -count(*) FROM deleted_jobs GROUP BY queue, status;
    RETURN NULL;
END
$$;

CREATE FUNCTION jobs_count_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM job_counts;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_insert();
CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_update();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS deleted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_delete();
CREATE TRIGGER jobs_count_truncate AFTER TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_truncate();

-- Folds the appended changes into one row per (queue, status). Safe to run
-- at any time, concurrently with writers and with itself.
CREATE FUNCTION compact_job_counts() RETURNS bigint
LANGUAGE sql SET search_path FROM CURRENT AS $$
    WITH moved AS (DELETE FROM job_counts RETURNING queue, status, n),
    folded AS (
        INSERT INTO job_counts (queue, status, n)
        SELECT queue, status, sum(n) FROM moved GROUP BY queue, status HAVING sum(n) <> 0
        RETURNING 1)
    SELECT count(*) FROM moved
$$;

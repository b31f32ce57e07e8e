-- Error history: every failed attempt appends an entry to the job's
-- `errors` (attempt, time, worker, kind, message), keeping the last 20;
-- error_message and error_kind keep meaning "the last error", as in the
-- seed. NULL until the first failure.
ALTER TABLE jobs ADD COLUMN errors jsonb;

-- `errors` with `entry` appended, the oldest dropped beyond `keep`.
CREATE FUNCTION append_error(errors jsonb, entry jsonb, keep integer) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT CASE WHEN jsonb_array_length(e.list) <= keep THEN e.list
                        ELSE (SELECT jsonb_agg(x.value ORDER BY x.n)
                              FROM jsonb_array_elements(e.list) WITH ORDINALITY AS x(value, n)
                              WHERE x.n > jsonb_array_length(e.list) - keep) END
            FROM (SELECT coalesce(errors, '[]'::jsonb) || jsonb_build_array(entry) AS list) AS e);

-- The maintenance leader of the schema: one row ('maintenance'), held by the
-- dispatcher leader_id until expires_at (the server's clock), renewed by
-- it well before then. Another dispatcher takes the row only once it has
-- expired, and with it a new term (term + 1); a renewal keeps the term.
-- A row, not a session advisory lock: it works the same through a pooler in
-- transaction mode (PgBouncer), where a session is not a connection.
--
-- Every write of the leader (reclaim, retention, periodic inserts,
-- housekeeping) locks this row FOR SHARE in the same statement and acts
-- only if it still names the leader at its term and has not expired: a
-- takeover (an UPDATE of the row) waits for that statement, and a leader
-- that was replaced matches nothing. A clean stop expires the row at once
-- (the term stays: terms never repeat).
CREATE TABLE leaders (
    name TEXT PRIMARY KEY,
    leader_id TEXT NOT NULL,
    term BIGINT NOT NULL,
    elected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT leaders_term_positive CHECK (term > 0)
);

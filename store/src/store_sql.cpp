#include "store_sql.hpp"

#include "seesaw/store/connection.hpp"

namespace seesaw::detail {
namespace {

std::string quote_literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

// Epoch microseconds of a timestamptz column: exact, and cheap to parse.
std::string us(const std::string& column) { return "(extract(epoch FROM " + column + ") * 1000000)::int8"; }

}  // namespace

StoreSql::StoreSql(const std::string& schema_text)
    : schema(schema_text), schema_name(quote_identifier(schema_text)), jobs(schema_name + ".jobs") {
    const std::string status_type = schema_name + ".job_status";
    const std::string kind_type = schema_name + ".error_kind";
    const std::string ms = " * interval '1 millisecond'";
    // Fences every state change after a claim (DESIGN.md §2).
    const std::string fence =
        "j.id = c.id AND j.attempt = c.attempt AND j.worker_id = c.worker_id AND j.status = 'running'";
    const std::string unnest_leases = "unnest($1::uuid[], $2::int4[], $3::text[])";

    enqueue = "INSERT INTO " + jobs +
              " (id, job_type, payload, queue, priority, max_retries, run_at, version)"
              " VALUES ($1::uuid, $2, $3::jsonb, $4, $5::int4, $6::int4,"
              " COALESCE($7::timestamptz, now() + $8::int8" + ms + "), $9::int4)";

    enqueue_name = "seesaw.enqueue." + schema;

    enqueue_batch = "INSERT INTO " + jobs +
                    " (id, job_type, payload, queue, priority, max_retries, run_at, version)"
                    " SELECT id, job_type, payload, queue, priority, max_retries,"
                    " COALESCE(run_at, now() + delay_ms" + ms + "), version"
                    " FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::int4[], $6::int4[],"
                    " $7::timestamptz[], $8::int8[], $9::int4[])"
                    " AS t(id, job_type, payload, queue, priority, max_retries, run_at, delay_ms, version)";

    // The ids to claim come from an array subquery, not a join: whatever
    // the planner guesses for LIMIT $3 (a generic plan guesses 10 % of the
    // table), the update is then an index lookup per id.
    claim = "UPDATE " + jobs + " AS j"
            " SET status = 'running', worker_id = $1, lease_expires_at = now() + $5::int8" + ms +
            ", updated_at = now()"
            " WHERE j.id = ANY (ARRAY("
            " SELECT id FROM " + jobs +
            " WHERE queue = $2 AND status IN ('pending', 'failed') AND run_at <= now()"
            " AND ($4::text[] IS NULL OR job_type = ANY ($4::text[]))"
            " ORDER BY priority, run_at, id"
            " LIMIT $3"
            " FOR UPDATE SKIP LOCKED))"
            " RETURNING j.id, j.job_type, j.queue, j.payload::text, j.version, j.attempt, j.max_retries,"
            " j.priority, " + us("j.run_at") + ", " + us("j.created_at") + ", " + us("j.lease_expires_at");

    succeed_batch = "UPDATE " + jobs + " AS j"
                    " SET status = 'succeeded', lease_expires_at = NULL, updated_at = now()"
                    " FROM " + unnest_leases + " AS c(id, attempt, worker_id)"
                    " WHERE " + fence + " RETURNING j.id";

    const std::string retry = "(c.kind = 'retryable' AND j.attempt <= j.max_retries)";
    fail_batch = "UPDATE " + jobs + " AS j SET"
                 " status = (CASE WHEN " + retry + " THEN 'failed' ELSE 'dead_letter' END)::" + status_type + ","
                 " attempt = CASE WHEN " + retry + " THEN j.attempt + 1 ELSE j.attempt END,"
                 " run_at = CASE WHEN " + retry + " THEN now() + c.delay_ms" + ms + " ELSE j.run_at END,"
                 " error_message = c.error, error_kind = c.kind::" + kind_type + ","
                 " lease_expires_at = NULL, updated_at = now()"
                 " FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::int8[])"
                 " AS c(id, attempt, worker_id, error, kind, delay_ms)"
                 " WHERE " + fence + " RETURNING j.id, j.status, j.attempt, c.delay_ms";

    heartbeat_batch = "UPDATE " + jobs + " AS j"
                      " SET lease_expires_at = now() + $4::int8" + ms + ", updated_at = now()"
                      " FROM " + unnest_leases + " AS c(id, attempt, worker_id)"
                      " WHERE " + fence + " RETURNING j.id";

    release_batch = "UPDATE " + jobs + " AS j"
                    " SET status = 'pending', lease_expires_at = NULL, updated_at = now()"
                    " FROM " + unnest_leases + " AS c(id, attempt, worker_id)"
                    " WHERE " + fence + " RETURNING j.id";

    const std::string worker_fence =
        "j.id = c.id AND j.attempt = c.attempt AND j.worker_id = $3 AND j.status = 'running'";
    const std::string unnest_pairs = "unnest($1::uuid[], $2::int4[]) AS c(id, attempt)";
    worker_succeed = "UPDATE " + jobs + " AS j"
                     " SET status = 'succeeded', lease_expires_at = NULL, updated_at = now()"
                     " FROM " + unnest_pairs + " WHERE " + worker_fence + " RETURNING j.id";
    worker_succeed_again = "UPDATE " + jobs + " AS j"
                           " SET status = 'succeeded', lease_expires_at = NULL,"
                           " updated_at = CASE WHEN j.status = 'succeeded' THEN j.updated_at ELSE now() END"
                           " FROM " + unnest_pairs +
                           " WHERE j.id = c.id AND j.attempt = c.attempt AND j.worker_id = $3"
                           " AND j.status IN ('running', 'succeeded') RETURNING j.id";
    worker_fail = "UPDATE " + jobs + " AS j SET"
                  " status = (CASE WHEN " + retry + " THEN 'failed' ELSE 'dead_letter' END)::" + status_type + ","
                  " attempt = CASE WHEN " + retry + " THEN j.attempt + 1 ELSE j.attempt END,"
                  " run_at = CASE WHEN " + retry + " THEN now() + c.delay_ms" + ms + " ELSE j.run_at END,"
                  " error_message = c.error, error_kind = c.kind::" + kind_type + ","
                  " lease_expires_at = NULL, updated_at = now()"
                  " FROM unnest($1::uuid[], $2::int4[], $4::text[], $5::text[], $6::int8[])"
                  " AS c(id, attempt, error, kind, delay_ms)"
                  " WHERE " + worker_fence + " RETURNING j.id, j.status, j.attempt, c.delay_ms";
    // The same after a connection was lost mid-write: a failure this worker
    // already wrote (the row moved on to the next attempt, or to the dead
    // letter queue at this attempt, and still names this worker) counts as
    // written. The SELECT sees the rows as they were before this UPDATE.
    worker_fail_again = "WITH written AS (" + worker_fail + ")"
                        " SELECT id, status, attempt, delay_ms FROM written"
                        " UNION ALL"
                        " SELECT j.id, j.status, j.attempt,"
                        " greatest(0, ceil(extract(epoch FROM j.run_at - now()) * 1000))::int8"
                        " FROM " + jobs + " AS j JOIN unnest($1::uuid[], $2::int4[]) AS c(id, attempt) ON j.id = c.id"
                        " WHERE j.worker_id = $3 AND ((j.status = 'failed' AND j.attempt = c.attempt + 1)"
                        " OR (j.status = 'dead_letter' AND j.attempt = c.attempt))";
    worker_heartbeat = "UPDATE " + jobs + " AS j"
                       " SET lease_expires_at = now() + $4::int8" + ms + ", updated_at = now()"
                       " FROM " + unnest_pairs + " WHERE " + worker_fence + " RETURNING j.id, j.attempt";
    worker_release = "UPDATE " + jobs + " AS j"
                     " SET status = 'pending', lease_expires_at = NULL, updated_at = now()"
                     " FROM " + unnest_pairs + " WHERE " + worker_fence + " RETURNING j.id";
    try_maintenance_lock = "SELECT pg_try_advisory_lock(hashtextextended(" +
                           quote_literal("seesaw.maintenance." + schema) + ", 0))";

    reclaim = "WITH expired AS ("
              " SELECT id FROM " + jobs +
              " WHERE status = 'running' AND lease_expires_at < now()"
              " ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED),"
              " reclaimed AS (UPDATE " + jobs + " AS j SET"
              " status = (CASE WHEN j.attempt <= j.max_retries THEN 'failed' ELSE 'dead_letter' END)::" +
              status_type + ","
              " attempt = CASE WHEN j.attempt <= j.max_retries THEN j.attempt + 1 ELSE j.attempt END,"
              " run_at = CASE WHEN j.attempt <= j.max_retries"
              " THEN now() + floor(random() * least($3::float8, $2::float8 * 2 ^ least(j.attempt - 1, 62)))" +
              ms + " ELSE j.run_at END,"
              " error_message = format('lease expired: worker %s did not finish attempt %s of %s before %s',"
              " j.worker_id, j.attempt, j.max_retries + 1, j.lease_expires_at),"
              " error_kind = 'retryable', lease_expires_at = NULL, updated_at = now()"
              " FROM expired WHERE j.id = expired.id RETURNING j.id, j.status, j.queue, j.run_at),"
              // An UPDATE fires no insert trigger: tell the dispatchers when
              // the retries are due, as the trigger does for scheduled jobs.
              " woken AS (SELECT pg_notify(" + schema_name + ".notify_channel(" + quote_literal(schema) +
              ", 'scheduled'), greatest(0, ceil(extract(epoch FROM min(run_at) - now()) * 1000))::int8 || ' ' || queue)"
              " FROM reclaimed WHERE status = 'failed' GROUP BY queue)"
              " SELECT r.id, r.status FROM reclaimed AS r, (SELECT count(*) FROM woken) AS w";

    cleanup = "WITH doomed AS ("
              " SELECT id FROM " + jobs +
              " WHERE status = $1::" + status_type +
              " AND updated_at < COALESCE($2::timestamptz, now() - $3::int8" + ms + ")"
              " LIMIT $4 FOR UPDATE SKIP LOCKED)"
              " DELETE FROM " + jobs + " AS j USING doomed WHERE j.id = doomed.id";

    stats = "SELECT queue, status::text, sum(n)::int8, count(*)::int8 FROM " + schema_name +
            ".job_counts GROUP BY queue, status";
    compact_stats = "SELECT " + schema_name + ".compact_job_counts()";

    retry_dead_letters = "WITH retried AS ("
                         " UPDATE " + jobs +
                         " SET status = 'pending', attempt = 1, run_at = now(), lease_expires_at = NULL,"
                         " updated_at = now()"
                         " WHERE status = 'dead_letter'"
                         " AND ($1::uuid[] IS NULL OR id = ANY ($1::uuid[]))"
                         " AND ($2::text IS NULL OR job_type = $2)"
                         " RETURNING queue),"
                         " woken AS (SELECT " + schema_name + ".wake_queue(" + quote_literal(schema) +
                         ", queue) FROM (SELECT DISTINCT queue FROM retried) AS q)"
                         " SELECT (SELECT count(*) FROM retried)::int8, (SELECT count(*) FROM woken)::int8";

    const std::string job_columns =
        "id, job_type, queue, payload::text, version, status::text, attempt, max_retries, priority, " +
        us("run_at") + ", worker_id, " + us("lease_expires_at") + ", error_message, error_kind::text, " +
        us("created_at") + ", " + us("updated_at");
    get_job = "SELECT " + job_columns + " FROM " + jobs + " WHERE id = $1::uuid";
    list_jobs = "SELECT " + job_columns + " FROM " + jobs +
                " WHERE ($1::text IS NULL OR status = $1::" + status_type + ")"
                " AND ($2::text IS NULL OR job_type = $2)"
                " AND ($3::text IS NULL OR queue = $3)"
                " ORDER BY created_at, id LIMIT $4";

    next_due = "SELECT ceil(extract(epoch FROM min(run_at) - now()) * 1000)::int8 FROM " + jobs +
               " WHERE queue = $1 AND status IN ('pending', 'failed') AND run_at > now()";

    const std::string listeners = schema_name + ".listeners";
    arm_listener = "INSERT INTO " + listeners + " (queue, listener, armed) VALUES ($2, $1, true)"
                   " ON CONFLICT (queue, listener) DO UPDATE SET armed = true, seen_at = now()";
    disarm_listener = "UPDATE " + listeners + " SET armed = false, seen_at = now() WHERE queue = $2 AND listener = $1";
    const std::string key = schema_name + ".wakeup_lock_key(" + quote_literal(schema) + ", $1)";
    wakeup_barrier = "SELECT pg_advisory_unlock(" + key + ") FROM (SELECT pg_advisory_lock(" + key + ")) AS locked";
    touch_listener = "UPDATE " + listeners + " SET seen_at = now() WHERE listener = $1";
    remove_listener = "DELETE FROM " + listeners + " WHERE listener = $1";
    expire_listeners = "DELETE FROM " + listeners + " WHERE seen_at < now() - interval '1 minute'";
    producer_contention = "SELECT last_value FROM " + schema_name + ".producer_contention";

    channels = "SELECT " + schema_name + ".notify_channel(" + quote_literal(schema) + ", 'ready'), " +
               schema_name + ".notify_channel(" + quote_literal(schema) + ", 'scheduled')";
}

}  // namespace seesaw::detail

#include "database.hpp"

#include <cstdlib>
#include <set>

#include "seesaw/store/connection.hpp"

namespace seesaw::cli {
namespace {

// Epoch microseconds of a timestamptz column: exact and cheap to parse.
std::string epoch_us(const std::string& column) {
    return "(extract(epoch FROM " + column + ") * 1000000)::int8";
}

Timestamp timestamp_at(const QueryResult& rows, std::size_t row, std::size_t column) {
    return Timestamp(std::chrono::microseconds(rows.get_int64(row, column)));
}

std::optional<std::string> optional_text(const QueryResult& rows, std::size_t row, std::size_t column) {
    if (rows.is_null(row, column)) return std::nullopt;
    return std::string(rows.get(row, column));
}

const std::string job_columns = "id::text, job_type, queue, payload::text, version, status::text, attempt, "
                                "max_retries, priority, " + epoch_us("run_at") + ", worker_id, " +
                                epoch_us("lease_expires_at") + ", error_message, error_kind::text, " +
                                epoch_us("created_at") + ", " + epoch_us("updated_at") + ", uncounted_attempts";

Job job_at(const QueryResult& rows, std::size_t row) {
    Job job;
    job.id = JobId::parse(rows.get(row, 0));
    job.job_type = rows.get(row, 1);
    job.queue = rows.get(row, 2);
    job.payload = rows.get(row, 3);
    job.version = static_cast<std::int32_t>(rows.get_int64(row, 4));
    job.status = parse_job_status(rows.get(row, 5)).value_or(JobStatus::pending);
    job.attempt = static_cast<std::int32_t>(rows.get_int64(row, 6));
    job.max_retries = static_cast<std::int32_t>(rows.get_int64(row, 7));
    job.priority = static_cast<std::int32_t>(rows.get_int64(row, 8));
    job.run_at = timestamp_at(rows, row, 9);
    job.worker_id = optional_text(rows, row, 10);
    if (!rows.is_null(row, 11)) job.lease_expires_at = timestamp_at(rows, row, 11);
    job.error_message = optional_text(rows, row, 12);
    if (auto kind = optional_text(rows, row, 13)) job.error_kind = parse_error_kind(*kind);
    job.created_at = timestamp_at(rows, row, 14);
    job.updated_at = timestamp_at(rows, row, 15);
    job.uncounted_attempts = static_cast<std::int32_t>(rows.get_int64(row, 16));
    return job;
}

std::string uuid_array(std::span<const JobId> ids) {
    std::string out = "{";
    for (const auto& id : ids) {
        if (out.size() > 1) out.push_back(',');
        out += id.to_string();
    }
    out.push_back('}');
    return out;
}

PgPool open_pool(const ConnectionOptions& options) {
    if (options.schema.empty()) throw UserError("--schema must not be empty");
    // Names the tool in pg_stat_activity unless the user chose a name.
    ::setenv("PGAPPNAME", "seesaw-cli", 0);
    return PgPool(options.conninfo(), PgPoolOptions{.max_connections = 2});
}

}  // namespace

Database::Database(const ConnectionOptions& options)
    : pool_(open_pool(options)), store_(pool_, PgJobStoreOptions{.schema = options.schema}) {}

std::string Database::schema_sql() const { return quote_identifier(schema()); }

std::map<std::string, double> oldest_pending_ages(Database& db, const std::string* queue) {
    // A job becomes due at run_at, or when it was inserted if run_at was
    // already past then.
    auto conn = db.pool().acquire();
    auto rows = conn->execute("SELECT queue, extract(epoch FROM now() - min(greatest(run_at, created_at)))::float8"
                              " FROM " + db.schema_sql() + ".jobs"
                              " WHERE status = 'pending' AND run_at <= now() AND ($1::text IS NULL OR queue = $1)"
                              " GROUP BY queue",
                              {queue != nullptr ? Param(*queue) : Param()});
    std::map<std::string, double> out;
    for (std::size_t row = 0; row < rows.rows(); ++row) {
        auto text = rows.get(row, 1);
        out[std::string(rows.get(row, 0))] = std::strtod(std::string(text).c_str(), nullptr);
    }
    return out;
}

std::vector<Job> list_dead_letters(Database& db) {
    auto conn = db.pool().acquire();
    auto rows = conn->execute("SELECT " + job_columns + " FROM " + db.schema_sql() +
                              ".jobs WHERE status = 'dead_letter' ORDER BY updated_at, id");
    std::vector<Job> out;
    out.reserve(rows.rows());
    for (std::size_t row = 0; row < rows.rows(); ++row) out.push_back(job_at(rows, row));
    return out;
}

std::uint64_t retry_dead_letters(Database& db, std::span<const JobId> ids) {
    std::set<JobId> unique(ids.begin(), ids.end());
    std::vector<JobId> wanted(unique.begin(), unique.end());
    const std::string array = uuid_array(wanted);
    const std::string jobs = db.schema_sql() + ".jobs";

    auto conn = db.pool().acquire();
    Transaction tx(*conn);
    // Lock the rows first, so that what is checked is what is updated.
    auto found = conn->execute("SELECT id::text, status::text FROM " + jobs + " WHERE id = ANY ($1::uuid[]) FOR UPDATE",
                               {array});
    std::map<JobId, std::string> status_of;
    for (std::size_t row = 0; row < found.rows(); ++row)
        status_of[JobId::parse(found.get(row, 0))] = std::string(found.get(row, 1));
    std::string problems;
    for (const auto& id : wanted) {
        auto it = status_of.find(id);
        std::string problem;
        if (it == status_of.end())
            problem = "no job with id " + id.to_string();
        else if (it->second != "dead_letter")
            problem = "job " + id.to_string() + " is " + it->second + ", not in the dead letter queue";
        if (problem.empty()) continue;
        problems += (problems.empty() ? "" : "; ") + problem;
    }
    if (!problems.empty()) throw UserError(problems + " (nothing was retried)");

    // The same change as PgJobStore::retry_dead_letter, and the same wake-up
    // of the dispatchers of each queue.
    auto retried = conn->execute(
        "WITH retried AS ("
        " UPDATE " + jobs +
            " SET status = 'pending', attempt = 1, uncounted_attempts = 0, run_at = now(), lease_expires_at = NULL,"
            " updated_at = now()"
            " WHERE status = 'dead_letter' AND id = ANY ($1::uuid[]) RETURNING queue),"
            " woken AS (SELECT pg_notify(" + db.schema_sql() + ".notify_channel($2), queue)"
            " FROM (SELECT DISTINCT queue FROM retried) AS q)"
            " SELECT (SELECT count(*) FROM retried)::int8, (SELECT count(*) FROM woken)::int8",
        {array, db.schema()});
    tx.commit();
    return static_cast<std::uint64_t>(retried.get_int64(0, 0));
}

}  // namespace seesaw::cli

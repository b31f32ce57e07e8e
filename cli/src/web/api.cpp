#include "api.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include "output.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/limits.hpp"
#include "throughput.hpp"

namespace seesaw::web {
namespace {

using cli::JsonWriter;
using cli::write_counts;
using cli::write_key;
using cli::write_optional_string;
using cli::write_string;

// One JSON document as a string, numbers with at most 3 decimals.
class Json {
public:
    Json() : writer_(buffer_) { writer_.SetMaxDecimalPlaces(3); }
    JsonWriter& w() noexcept { return writer_; }
    std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

private:
    rapidjson::StringBuffer buffer_;
    JsonWriter writer_;
};

constexpr std::string_view base64url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t cursor_version = 1;

std::string epoch_us(std::string_view column) {
    return "(extract(epoch FROM " + std::string(column) + ") * 1000000)::int8";
}

Timestamp timestamp_of(const QueryResult& r, std::size_t row, std::size_t column) {
    return Timestamp(std::chrono::microseconds(r.get_int64(row, column)));
}

std::string bad_name(std::string_view parameter, const UsageError& e) {
    return "parameter '" + std::string(parameter) + "': " + e.what();
}

QueueStats& operator+=(QueueStats& sum, QueueStats more) {
    for (auto status : {JobStatus::pending, JobStatus::running, JobStatus::succeeded, JobStatus::failed,
                        JobStatus::dead_letter, JobStatus::cancelled})
        sum[status] += more[status];
    return sum;
}

// Jobs finished per second over the samples of the last minute: all queues
// (queue empty) or one.
std::optional<double> recent_rate(const std::deque<ThroughputSample>& samples, const std::string* queue) {
    if (samples.empty()) return std::nullopt;
    const auto since = samples.back().at - std::chrono::minutes(1);
    double seconds = 0;
    std::uint64_t finished = 0;
    for (const auto& s : samples) {
        if (!s.ok || s.at <= since) continue;
        seconds += s.seconds;
        if (queue == nullptr) {
            finished += s.finished;
        } else if (auto it = s.by_queue.find(*queue); it != s.by_queue.end()) {
            finished += it->second;
        }
    }
    if (seconds <= 0) return std::nullopt;
    return static_cast<double>(finished) / seconds;
}

void write_optional_number(JsonWriter& json, std::optional<double> value) {
    if (value)
        json.Double(*value);
    else
        json.Null();
}

struct TimelineEvent {
    Timestamp at;
    std::string event;
    std::string detail;
};

// What the row tells of the job's life: created, each failed attempt (the
// error history keeps the last 20), when it is or was due, and where it is now.
std::vector<TimelineEvent> timeline_of(const Job& job) {
    std::vector<TimelineEvent> events;
    events.push_back({job.created_at, "created",
                      "in queue " + job.queue + ", priority " + std::to_string(job.priority) + ", max_retries " +
                          std::to_string(job.max_retries)});
    for (const auto& error : job.errors) {
        events.push_back({error.at, "attempt_failed",
                          "attempt " + std::to_string(error.attempt) + " failed (" + std::string(to_string(error.kind)) +
                              (error.worker_id ? ", worker " + *error.worker_id : std::string()) +
                              "): " + error.message});
    }
    const std::string attempt = "attempt " + std::to_string(job.attempt);
    switch (job.status) {
        case JobStatus::pending:
            events.push_back({job.run_at, "due", attempt + (job.run_at > job.updated_at ? " is scheduled" : " is due")});
            break;
        case JobStatus::failed:
            events.push_back({job.run_at, "retry_due", "attempt " + std::to_string(job.attempt + 1) + " is due"});
            break;
        case JobStatus::running:
            events.push_back({job.run_at, "due", attempt + " was due"});
            events.push_back({job.updated_at, "running",
                              attempt + " running on worker " + job.worker_id.value_or("?") +
                                  (job.lease_expires_at ? ", lease until " + cli::format_time(*job.lease_expires_at)
                                                        : std::string())});
            break;
        case JobStatus::succeeded:
            events.push_back({job.run_at, "due", attempt + " was due"});
            events.push_back({job.updated_at, "succeeded",
                              attempt + " succeeded" + (job.worker_id ? " on worker " + *job.worker_id : std::string())});
            break;
        case JobStatus::dead_letter:
            events.push_back({job.updated_at, "dead_letter",
                              "moved to the dead letter queue after " + attempt +
                                  (job.error_message ? ": " + *job.error_message : std::string())});
            break;
        case JobStatus::cancelled:
            events.push_back({job.updated_at, "cancelled",
                              job.error_message ? "cancelled: " + *job.error_message : std::string("cancelled")});
            break;
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const TimelineEvent& a, const TimelineEvent& b) { return a.at < b.at; });
    return events;
}

}  // namespace

// --- request parsing ----------------------------------------------------------------

std::string encode_cursor(const JobId& last) {
    std::array<std::uint8_t, 17> bytes{};
    bytes[0] = cursor_version;
    std::copy(last.bytes().begin(), last.bytes().end(), bytes.begin() + 1);
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (auto byte : bytes) {
        bits = (bits << 8) | byte;
        count += 8;
        while (count >= 6) {
            count -= 6;
            out += base64url_alphabet[(bits >> count) & 0x3f];
        }
    }
    if (count > 0) out += base64url_alphabet[(bits << (6 - count)) & 0x3f];
    return out;
}

std::optional<JobId> decode_cursor(std::string_view text) {
    // 17 bytes: 22 full sextets and one of 4 bits (2 zero bits of padding).
    if (text.size() != 23) return std::nullopt;
    std::vector<std::uint8_t> bytes;
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        auto at = base64url_alphabet.find(c);
        if (at == std::string_view::npos) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(at);
        count += 6;
        if (count >= 8) {
            count -= 8;
            bytes.push_back(static_cast<std::uint8_t>((bits >> count) & 0xff));
        }
    }
    if (bytes.size() != 17 || (bits & ((1u << count) - 1)) != 0 || bytes[0] != cursor_version) return std::nullopt;
    std::array<std::uint8_t, 16> id{};
    std::copy(bytes.begin() + 1, bytes.end(), id.begin());
    return JobId(id);
}

JobId parse_job_id_param(std::string_view text) {
    auto id = JobId::try_parse(text);
    if (!id) {
        std::string shown(text.substr(0, 64));
        throw ApiError(400, "parameter 'id': '" + shown + "' is not a job id (a UUID)", "id");
    }
    return *id;
}

JobListQuery parse_job_list_query(const std::multimap<std::string, std::string>& params) {
    static const std::set<std::string, std::less<>> known = {"state", "type", "queue", "order", "cursor", "limit"};
    JobListQuery query;
    for (const auto& [name, value] : params) {
        if (!known.contains(name)) {
            throw ApiError(400,
                           "unknown parameter '" + name.substr(0, 64) +
                               "': expected state, type, queue, order, cursor or limit",
                           name.substr(0, 64));
        }
        if (params.count(name) > 1) throw ApiError(400, "parameter '" + name + "' is given more than once", name);
        if (value.empty()) continue;  // an empty form field: no filter
        if (name == "state") {
            query.state = parse_job_status(value);
            if (!query.state) {
                throw ApiError(400,
                               "parameter 'state': unknown state '" + value.substr(0, 64) +
                                   "': expected pending, running, succeeded, failed, dead_letter or cancelled",
                               name);
            }
        } else if (name == "type") {
            try {
                validate_job_type(value, "the job type");
            } catch (const UsageError& e) {
                throw ApiError(400, bad_name(name, e), name);
            }
            query.job_type = value;
        } else if (name == "queue") {
            try {
                validate_queue_name(value, "the queue name");
            } catch (const UsageError& e) {
                throw ApiError(400, bad_name(name, e), name);
            }
            query.queue = value;
        } else if (name == "order") {
            if (value == "newest")
                query.order = ListOrder::newest;
            else if (value == "oldest")
                query.order = ListOrder::oldest;
            else
                throw ApiError(400, "parameter 'order': expected newest or oldest, got '" + value.substr(0, 64) + "'",
                               name);
        } else if (name == "cursor") {
            query.after = decode_cursor(value);
            if (!query.after) {
                throw ApiError(400,
                               "parameter 'cursor': not a cursor this API returned (pass next_cursor back as it is)",
                               name);
            }
        } else if (name == "limit") {
            std::size_t limit = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
            if (ec != std::errc() || end != value.data() + value.size() || limit < 1 || limit > max_page_size) {
                throw ApiError(400,
                               "parameter 'limit': expected a whole number from 1 to " +
                                   std::to_string(max_page_size) + ", got '" + value.substr(0, 64) + "'",
                               name);
            }
            query.limit = limit;
        }
    }
    return query;
}

// --- endpoints ----------------------------------------------------------------------

Api::Api(PgJobStore& store, const ThroughputSampler& throughput)
    : store_(store),
      throughput_(throughput),
      jobs_table_(quote_identifier(store.schema()) + ".jobs") {}

std::string Api::queues() {
    auto queues = store_.queues();
    const auto ages = store_.oldest_pending_ages();
    const auto samples = throughput_.snapshot();

    Json doc;
    auto& json = doc.w();
    json.StartObject();
    write_key(json, "queues");
    json.StartArray();
    QueueStats total{};
    double oldest = 0;
    for (const auto& queue : queues) {
        total += queue.counts;
        json.StartObject();
        write_key(json, "name");
        write_string(json, queue.name);
        write_key(json, "paused");
        json.Bool(queue.paused);
        write_key(json, "paused_at");
        write_optional_string(json,
                              queue.paused_at ? std::optional(cli::format_time(*queue.paused_at)) : std::nullopt);
        write_key(json, "counts");
        write_counts(json, queue.counts);
        write_key(json, "oldest_pending_age_s");
        double age = 0;
        if (auto it = ages.find(queue.name); it != ages.end())
            age = std::chrono::duration<double>(it->second).count();
        oldest = std::max(oldest, age);
        json.Double(age);
        write_key(json, "finished_per_s");
        write_optional_number(json, recent_rate(samples, &queue.name));
        json.EndObject();
    }
    json.EndArray();
    write_key(json, "total");
    json.StartObject();
    write_key(json, "counts");
    write_counts(json, total);
    write_key(json, "oldest_pending_age_s");
    json.Double(oldest);
    write_key(json, "finished_per_s");
    write_optional_number(json, recent_rate(samples, nullptr));
    json.EndObject();
    write_key(json, "throughput");
    json.StartObject();
    write_key(json, "interval_s");
    json.Double(std::chrono::duration<double>(throughput_.interval()).count());
    write_key(json, "samples");
    json.StartArray();
    for (const auto& s : samples) {
        json.StartObject();
        write_key(json, "at");
        write_string(json, cli::format_time(s.at));
        write_key(json, "finished_per_s");
        if (s.ok && s.seconds > 0)
            json.Double(static_cast<double>(s.finished) / s.seconds);
        else
            json.Null();
        json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    json.EndObject();
    return doc.str();
}

namespace {

bool is_browse_state(JobStatus status) noexcept {
    return status == JobStatus::failed || status == JobStatus::dead_letter || status == JobStatus::cancelled;
}

}  // namespace

JobListStatement job_list_statement(std::string_view schema, const JobListQuery& query) {
    const std::string quoted = quote_identifier(schema);
    const bool newest = query.order == ListOrder::newest;
    JobListStatement out;
    auto bind = [&](std::string value) {
        out.params.push_back(std::move(value));
        return "$" + std::to_string(out.params.size());
    };
    const bool browse = query.state && is_browse_state(*query.state);
    std::vector<std::string> filters;
    if (query.state && !browse)
        filters.push_back("status = " + bind(std::string(to_string(*query.state))) + "::" + quoted + ".job_status");
    if (query.job_type) filters.push_back("job_type = " + bind(*query.job_type));
    if (query.queue) filters.push_back("queue = " + bind(*query.queue));
    const std::string after =
        query.after ? std::string("id ") + (newest ? "<" : ">") + " " + bind(query.after->to_string()) + "::uuid" : "";
    const std::string order = std::string(" ORDER BY id ") + (newest ? "DESC" : "ASC");
    const std::string columns = "id, job_type, queue, status::text, attempt, max_retries, uncounted_attempts, snoozes, "
                                "priority, " + epoch_us("run_at") + ", " + epoch_us("created_at") + ", " +
                                epoch_us("updated_at") + ", worker_id, error_kind::text, error_message";

    if (browse) {
        // A state operators browse: the partial indexes of migration 0011
        // (idx_jobs_browse_status_id, _type_id, _queue_id) hold exactly the
        // rows in these states; the index is read in id order and stops
        // after limit + 1 rows. The state is written as a constant (one of
        // three names, never the client's text): from it the planner proves
        // the indexes' predicate and estimates the state's rows. A parameter
        // would hide the one, and repeating the predicate would spoil the
        // other (a few rows estimated, so sorting them all looked cheap).
        out.windowed = false;
        std::vector<std::string> where;
        where.push_back("status = '" + std::string(to_string(*query.state)) + "'::" + quoted + ".job_status");
        where.insert(where.end(), filters.begin(), filters.end());
        if (!after.empty()) where.push_back(after);
        out.sql = "SELECT " + columns + " FROM " + quoted + ".jobs";
        for (std::size_t i = 0; i < where.size(); ++i) out.sql += (i == 0 ? " WHERE " : " AND ") + where[i];
        out.sql += order + " LIMIT " + bind(std::to_string(query.limit + 1));
        return out;
    }

    // Anything else (no filter, pending, running or succeeded, a type, a
    // queue): no index but the primary key, which is read in id order from
    // the cursor, at most job_list_window rows (the window). Each row is
    // numbered (n) and tested (hit); the page is the hits, up to limit + 1,
    // and the window's last row (last), whether it is a hit or not, to tell
    // where the window ended. Rows are read only as far as the page needs.
    out.windowed = true;
    std::string hit;
    for (std::size_t i = 0; i < filters.size(); ++i) hit += (i == 0 ? "" : " AND ") + filters[i];
    hit = filters.empty() ? "true" : "(" + hit + ")";
    const std::string window = std::to_string(job_list_window);
    out.sql = "SELECT " + columns + ", n, hit, last FROM (SELECT *, " + hit +
              " AS hit, row_number() OVER w AS n, lead(id) OVER w IS NULL AS last FROM (SELECT id, job_type, queue, "
              "status, attempt, max_retries, uncounted_attempts, snoozes, priority, run_at, created_at, updated_at, "
              "worker_id, error_kind, error_message FROM " + quoted + ".jobs" + (after.empty() ? "" : " WHERE " + after) +
              order + " LIMIT " + window + ") AS examined WINDOW w AS (" + order.substr(1) +
              ")) AS numbered WHERE hit OR last" + order +
              " LIMIT " + bind(std::to_string(query.limit + 1));
    return out;
}

std::string Api::jobs(const JobListQuery& query) {
    const auto statement = job_list_statement(store_.schema(), query);
    std::vector<Param> params(statement.params.begin(), statement.params.end());
    QueryResult rows;
    {
        auto conn = store_.pool().acquire();
        rows = conn->execute(statement.sql, std::span<const Param>(params));
    }
    // The rows to show, the next page's cursor and, for a window, how many
    // rows of it this page covers.
    std::vector<std::size_t> shown;
    std::optional<std::string> next;
    std::optional<std::int64_t> scanned;
    if (!statement.windowed) {
        for (std::size_t row = 0; row < std::min(rows.rows(), query.limit); ++row) shown.push_back(row);
        if (rows.rows() > query.limit) next = rows.get(query.limit - 1, 0);
    } else {
        scanned = 0;
        for (std::size_t row = 0; row < rows.rows(); ++row) {
            const bool hit = rows.get(row, 16) == std::string_view("t");
            const bool last = rows.get(row, 17) == std::string_view("t");
            if (hit && shown.size() == query.limit) {
                // One more hit than the page: the next page starts after
                // the page's last row.
                next = rows.get(shown.back(), 0);
                scanned = rows.get_int64(shown.back(), 15);
                break;
            }
            if (hit) shown.push_back(row);
            scanned = rows.get_int64(row, 15);
            if (last) {
                // The window's end: a full window may have more rows after
                // it (the next page reads on from there); a short one is the
                // end of the table.
                if (*scanned == static_cast<std::int64_t>(job_list_window)) next = rows.get(row, 0);
                break;
            }
        }
    }

    Json doc;
    auto& json = doc.w();
    json.StartObject();
    write_key(json, "jobs");
    json.StartArray();
    for (std::size_t row : shown) {
        Job job;
        job.max_retries = static_cast<std::int32_t>(rows.get_int64(row, 5));
        job.uncounted_attempts = static_cast<std::int32_t>(rows.get_int64(row, 6));
        job.snoozes = static_cast<std::int32_t>(rows.get_int64(row, 7));
        json.StartObject();
        write_key(json, "id");
        write_string(json, rows.get(row, 0));
        write_key(json, "type");
        write_string(json, rows.get(row, 1));
        write_key(json, "queue");
        write_string(json, rows.get(row, 2));
        write_key(json, "status");
        write_string(json, rows.get(row, 3));
        write_key(json, "attempt");
        json.Int64(rows.get_int64(row, 4));
        write_key(json, "attempts_allowed");
        json.Int64(cli::attempts_allowed(job));
        write_key(json, "max_retries");
        json.Int64(job.max_retries);
        write_key(json, "priority");
        json.Int64(rows.get_int64(row, 8));
        write_key(json, "run_at");
        write_string(json, cli::format_time(timestamp_of(rows, row, 9)));
        write_key(json, "created_at");
        write_string(json, cli::format_time(timestamp_of(rows, row, 10)));
        write_key(json, "updated_at");
        write_string(json, cli::format_time(timestamp_of(rows, row, 11)));
        write_key(json, "worker_id");
        write_optional_string(json, rows.is_null(row, 12) ? std::nullopt : std::optional(std::string(rows.get(row, 12))));
        write_key(json, "error_kind");
        write_optional_string(json, rows.is_null(row, 13) ? std::nullopt : std::optional(std::string(rows.get(row, 13))));
        write_key(json, "error_message");
        write_optional_string(json, rows.is_null(row, 14) ? std::nullopt : std::optional(std::string(rows.get(row, 14))));
        json.EndObject();
    }
    json.EndArray();
    write_key(json, "next_cursor");
    if (next)
        write_string(json, encode_cursor(JobId::parse(*next)));
    else
        json.Null();
    write_key(json, "scanned");
    if (scanned)
        json.Int64(*scanned);
    else
        json.Null();
    json.EndObject();
    return doc.str();
}

std::string Api::job(const JobId& id) {
    auto job = store_.get_job(id);
    if (!job) throw ApiError(404, "no job with id " + id.to_string());
    Json doc;
    auto& json = doc.w();
    json.StartObject();
    write_key(json, "job");
    cli::write_job(json, *job);
    write_key(json, "timeline");
    json.StartArray();
    for (const auto& event : timeline_of(*job)) {
        json.StartObject();
        write_key(json, "at");
        write_string(json, cli::format_time(event.at));
        write_key(json, "event");
        write_string(json, event.event);
        write_key(json, "detail");
        write_string(json, event.detail);
        json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return doc.str();
}

JobStatus Api::status_of(const JobId& id) {
    QueryResult r;
    {
        auto conn = store_.pool().acquire();
        r = conn->execute("SELECT status::text FROM " + jobs_table_ + " WHERE id = $1::uuid", {Param(id.to_string())});
    }
    if (r.rows() == 0) throw ApiError(404, "no job with id " + id.to_string());
    return *parse_job_status(r.get(0, 0));
}

namespace {

std::string action_result(const JobId& id, std::string_view done_key, bool done, JobStatus previous,
                          std::optional<std::string_view> now = std::nullopt) {
    Json doc;
    auto& json = doc.w();
    json.StartObject();
    write_key(json, "id");
    write_string(json, id.to_string());
    write_key(json, done_key);
    json.Bool(done);
    write_key(json, "previous_status");
    write_string(json, to_string(previous));
    if (now) {
        write_key(json, "status");
        write_string(json, *now);
    }
    json.EndObject();
    return doc.str();
}

}  // namespace

std::string Api::retry_job(const JobId& id) {
    const JobStatus status = status_of(id);
    const std::string refused = "job " + id.to_string() + " is " + std::string(to_string(status)) +
                                ": only a dead letter or a failed job (waiting for its retry) can be retried now; "
                                "nothing was changed";
    if (status == JobStatus::dead_letter) {
        bool retried = false;
        try {
            retried = store_.retry_dead_letter(id);
        } catch (const UsageError& e) {
            throw ApiError(409, e.what());  // its unique key is held by another job
        }
        if (!retried) throw ApiError(409, "job " + id.to_string() + " left the dead letter queue meanwhile; nothing was changed");
        return action_result(id, "retried", true, status, "pending");
    }
    if (status == JobStatus::failed) {
        // Due now, same attempt count: the retry it was waiting for, brought
        // forward. Fenced by the state, and the queue's idle dispatchers woken.
        const std::string schema = store_.schema();
        const std::string sql = "WITH moved AS (UPDATE " + jobs_table_ +
                                " SET run_at = now(), updated_at = now() WHERE id = $1::uuid AND status = 'failed'"
                                " RETURNING queue), woken AS (SELECT " + quote_identifier(schema) +
                                ".wake_queue($2, queue) FROM moved)"
                                " SELECT (SELECT count(*) FROM moved)::int8, (SELECT count(*) FROM woken)::int8";
        QueryResult r;
        {
            auto conn = store_.pool().acquire();
            r = conn->execute(sql, {Param(id.to_string()), Param(schema)});
        }
        if (r.get_int64(0, 0) != 1)
            throw ApiError(409, "job " + id.to_string() + " is no longer failed (a worker took it); nothing was changed");
        return action_result(id, "retried", true, status, "failed");
    }
    throw ApiError(409, refused);
}

std::string Api::cancel_job(const JobId& id) {
    status_of(id);  // 404 before anything else
    CancelResult result;
    try {
        result = store_.cancel(id);
    } catch (const UsageError& e) {
        throw ApiError(404, e.what());  // deleted meanwhile
    }
    return action_result(id, "cancelled", result.cancelled, result.previous,
                         result.cancelled ? std::optional<std::string_view>("cancelled") : std::nullopt);
}

std::string Api::delete_job(const JobId& id) {
    // A running job is never deleted: its worker holds a lease on the row
    // (cancel it first). The state is checked by the DELETE itself, so a
    // claim that wins the race keeps the job.
    QueryResult r;
    {
        auto conn = store_.pool().acquire();
        r = conn->execute("DELETE FROM " + jobs_table_ + " WHERE id = $1::uuid AND status <> 'running' RETURNING status::text",
                          {Param(id.to_string())});
    }
    if (r.rows() == 1) return action_result(id, "deleted", true, *parse_job_status(r.get(0, 0)));
    const JobStatus status = status_of(id);  // 404 when there is none
    throw ApiError(409, "job " + id.to_string() + " is " + std::string(to_string(status)) +
                            ": a running job is not deleted (its worker holds it); cancel it first");
}

std::string Api::retry_dead_letters(std::string_view body) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("type") || !doc["type"].IsString()) {
        throw ApiError(400, "parameter 'type': expected a JSON body {\"type\": \"<job type>\"}", "type");
    }
    const std::string type(doc["type"].GetString(), doc["type"].GetStringLength());
    try {
        validate_job_type(type, "the job type");
    } catch (const UsageError& e) {
        throw ApiError(400, bad_name("type", e), "type");
    }
    const auto n = store_.retry_all_dead_letters(type);
    Json out;
    auto& json = out.w();
    json.StartObject();
    write_key(json, "type");
    write_string(json, type);
    write_key(json, "retried");
    json.Uint64(n);
    json.EndObject();
    return out.str();
}

std::string Api::pause_queue(std::string_view queue, bool pause) {
    try {
        validate_queue_name(queue, "the queue name");
    } catch (const UsageError& e) {
        throw ApiError(400, bad_name("queue", e), "queue");
    }
    const bool changed = pause ? store_.pause_queue(queue) : store_.resume_queue(queue);
    Json out;
    auto& json = out.w();
    json.StartObject();
    write_key(json, "queue");
    write_string(json, queue);
    write_key(json, "paused");
    json.Bool(pause);
    write_key(json, "changed");
    json.Bool(changed);
    json.EndObject();
    return out.str();
}

}  // namespace seesaw::web

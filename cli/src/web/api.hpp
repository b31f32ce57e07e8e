#pragma once
// The dashboard's JSON API, without HTTP: what each endpoint reads from its
// request, the SQL it runs and the document it answers. The server
// (dashboard.cpp) routes requests here and turns ApiError into a status.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job.hpp"
#include "seesaw/store/pg_job_store.hpp"

namespace seesaw::web {

class ThroughputSampler;

// A request the API refuses: its HTTP status (400, 404, 409), a message for
// people, and for a 400 the parameter at fault.
class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string message, std::string parameter = {})
        : std::runtime_error(std::move(message)), status_(status), parameter_(std::move(parameter)) {}
    int status() const noexcept { return status_; }
    const std::string& parameter() const noexcept { return parameter_; }

private:
    int status_;
    std::string parameter_;
};

// Newest first (by id, descending) or oldest first. Ids are UUIDv7: their
// leading 48 bits are the job's creation time in milliseconds.
enum class ListOrder { newest, oldest };

// GET /api/jobs: filters (every one optional), order, page size and the
// keyset cursor (the last id of the previous page).
struct JobListQuery {
    std::optional<JobStatus> state;
    std::optional<std::string> job_type;
    std::optional<std::string> queue;
    ListOrder order = ListOrder::newest;
    std::optional<JobId> after;
    std::size_t limit = 50;
};

inline constexpr std::size_t default_page_size = 50;
inline constexpr std::size_t max_page_size = 500;

// Reads the query string's parameters (state, type, queue, order, cursor,
// limit); unknown parameters are refused too, so that a typo ("staus") is
// not silently a list of everything. Throws ApiError 400 naming the
// parameter.
JobListQuery parse_job_list_query(const std::multimap<std::string, std::string>& params);

// The cursor is opaque to clients: a version byte and the 16 bytes of the
// last id, base64url without padding.
std::string encode_cursor(const JobId& last);
// nullopt when `text` is not a cursor encode_cursor made.
std::optional<JobId> decode_cursor(std::string_view text);

// A job id from a URL path; ApiError 400 (parameter "id") when not a UUID.
JobId parse_job_id_param(std::string_view text);

// The statement behind GET /api/jobs and its parameters: only the filters
// given, so that each combination is planned on its own; one more row than
// the page, to tell whether there is a next one.
//
// Two kinds. A state operators browse (failed, dead_letter, cancelled; with
// or without a type or queue): the partial indexes of migration 0011, read
// in id order. Anything else: a window of at most job_list_window rows of
// the primary key after the cursor, of which the page keeps the rows that
// match (windowed; its rows carry their place in the window n, whether they
// match, and whether they are the window's last). The engine's hot path
// writes no entry in the partial indexes; full indexes for every filter cost
// it a third of its throughput.
inline constexpr std::size_t job_list_window = 10'000;
struct JobListStatement {
    std::string sql;
    std::vector<std::string> params;
    bool windowed = false;
};
JobListStatement job_list_statement(std::string_view schema, const JobListQuery& query);

// The endpoints. Each returns one JSON document; each throws ApiError for a
// refusal, and lets seesaw::ConnectionError through (the server answers 503).
class Api {
public:
    Api(PgJobStore& store, const ThroughputSampler& throughput);

    std::string queues();                              // GET /api/queues
    std::string jobs(const JobListQuery& query);      // GET /api/jobs
    std::string job(const JobId& id);                 // GET /api/jobs/{id}
    std::string retry_job(const JobId& id);           // POST /api/jobs/{id}/retry
    std::string cancel_job(const JobId& id);          // POST /api/jobs/{id}/cancel
    std::string delete_job(const JobId& id);          // POST /api/jobs/{id}/delete
    std::string retry_dead_letters(std::string_view body);  // POST /api/dead-letters/retry {"type": T}
    std::string pause_queue(std::string_view queue, bool pause);  // POST /api/queues/{name}/pause|resume

private:
    // The job's status, or ApiError 404 when no job has the id.
    JobStatus status_of(const JobId& id);

    PgJobStore& store_;
    const ThroughputSampler& throughput_;
    std::string jobs_table_;  // "schema".jobs, quoted
};

}  // namespace seesaw::web

#pragma once
// Job value types: states, error kinds, enqueue options, a stored job, a lease.
// No clock is read here: every time the database decides comes from its now().

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job_id.hpp"

namespace seesaw {

using Clock = std::chrono::system_clock;
using Timestamp = std::chrono::time_point<Clock, std::chrono::microseconds>;

// pending → running → succeeded; running → failed → running … (retry after
// backoff); running → dead_letter; dead_letter → pending (manual retry);
// running → pending (a snooze); pending, running or failed → cancelled.
// succeeded, dead_letter and cancelled are finished.
enum class JobStatus { pending, running, succeeded, failed, dead_letter, cancelled };
enum class ErrorKind { retryable, non_retryable };

std::string_view to_string(JobStatus status) noexcept;
std::string_view to_string(ErrorKind kind) noexcept;
// nullopt when text names no status ("pending", "dead_letter", ...).
std::optional<JobStatus> parse_job_status(std::string_view text) noexcept;
std::optional<ErrorKind> parse_error_kind(std::string_view text) noexcept;

inline constexpr std::string_view default_queue = "default";

// A unique job's key (EnqueueOptions::unique_key), or none. Read like an
// std::optional<std::string>. (Not one: GCC 12 warns, wrongly, that one in
// an aggregate like NewJob{type, payload} "may be used uninitialized".)
class UniqueKey {
public:
    UniqueKey() = default;
    UniqueKey(std::string key) : key_(std::move(key)), set_(true) {}  // NOLINT: implicit, as optional's
    UniqueKey(const char* key) : UniqueKey(std::string(key)) {}        // NOLINT
    explicit operator bool() const noexcept { return set_; }
    bool has_value() const noexcept { return set_; }
    const std::string& operator*() const noexcept { return key_; }
    const std::string* operator->() const noexcept { return &key_; }
    void reset() noexcept {
        key_.clear();
        set_ = false;
    }
    friend bool operator==(const UniqueKey&, const UniqueKey&) = default;

private:
    std::string key_;
    bool set_ = false;
};

// The finished states in which a unique job keeps its key (see
// EnqueueOptions::unique_states).
struct UniqueStates {
    bool succeeded = false;
    bool dead_letter = false;
    friend bool operator==(const UniqueStates&, const UniqueStates&) = default;
};

// The defaults of a job without its type's (see JobTraits in job_traits.hpp).
inline constexpr std::int32_t default_priority = 0;
inline constexpr std::int32_t default_max_retries = 3;

// How to enqueue a job. Priority, retries, queue and unique key left unset
// take the job type's defaults, when its JobTraits declares them (typed
// enqueues), else the defaults above and the queue "default".
struct EnqueueOptions {
    // Smaller runs first.
    std::optional<std::int32_t> priority = std::nullopt;
    // Retries after the first run: a job runs at most max_retries + 1 times
    // (0 to 1,000,000,000).
    std::optional<std::int32_t> max_retries = std::nullopt;
    std::optional<std::string> queue = std::nullopt;
    // When the job becomes runnable. Unset: the database's now() + delay.
    std::optional<Timestamp> run_at = std::nullopt;
    // Added to the database's now() when run_at is unset.
    std::chrono::milliseconds delay{0};
    // The payload's schema version, for handlers that read old payloads.
    std::int32_t version = 1;

    // Unique jobs. With a key, at most one job of this type holds it at a
    // time: the database refuses a second (a unique index), and the enqueue
    // returns the job that holds it instead (see Enqueued). 1 to 1,024 bytes
    // of UTF-8, no NUL.
    UniqueKey unique_key = {};
    // With a period, the key is unique within each period since 1970 (of the
    // database's clock) that a job is enqueued in: one job per key per hour,
    // say. Positive, at most unique_for_limit.
    std::optional<std::chrono::milliseconds> unique_for = std::nullopt;
    // The states in which a job holds its key: always pending, running and
    // failed (until it finishes), and these finished ones if set (the key is
    // then held until the job is deleted, or, for a dead letter, retried).
    UniqueStates unique_states = {};
};

// What an enqueue did: the job the call's job maps to, and whether this call
// inserted it (false: a job with the same unique key held it; id is that
// job's).
struct Enqueued {
    JobId id;
    bool inserted = true;
    friend bool operator==(const Enqueued&, const Enqueued&) = default;
};

// An untyped job to enqueue: the type name and its JSON payload.
struct NewJob {
    std::string job_type;
    std::string payload;  // a JSON document
    EnqueueOptions options = {};
    JobId id = JobId::generate();
};

// The queue, priority and retries of options, or the defaults above.
inline std::int32_t priority_of(const EnqueueOptions& options) noexcept {
    return options.priority.value_or(default_priority);
}
inline std::int32_t max_retries_of(const EnqueueOptions& options) noexcept {
    return options.max_retries.value_or(default_max_retries);
}
inline std::string_view queue_of(const EnqueueOptions& options) noexcept {
    return options.queue ? std::string_view(*options.queue) : default_queue;
}

// Proof of ownership of one run of a job. Every state change after a claim is
// fenced by all three fields: a worker whose lease was reclaimed cannot
// complete or extend the job for its new owner.
struct JobLease {
    JobId id;
    std::string worker_id;
    std::int32_t attempt = 1;
};

// A job handed to a worker by claim_ready.
struct ClaimedJob {
    JobId id;
    std::string job_type;
    std::string queue;
    std::string payload;
    std::string worker_id;
    std::int32_t version = 1;
    std::int32_t attempt = 1;  // 1 on the first run
    std::int32_t max_retries = 0;
    std::int32_t priority = 0;
    std::int32_t snoozes = 0;  // runs of it that snoozed so far
    Timestamp run_at{};
    Timestamp created_at{};
    Timestamp lease_expires_at{};

    JobLease lease() const { return JobLease{id, worker_id, attempt}; }
};

// One failed attempt in a job's error history (Job::errors).
struct JobError {
    std::int32_t attempt = 1;
    Timestamp at{};                        // when the failure was written (the database's clock)
    std::optional<std::string> worker_id;  // the worker that ran it
    ErrorKind kind = ErrorKind::retryable;
    std::string message;
    friend bool operator==(const JobError&, const JobError&) = default;
};

// A stored job, every column.
struct Job {
    JobId id;
    std::string job_type;
    std::string queue;
    std::string payload;
    std::int32_t version = 1;
    JobStatus status = JobStatus::pending;
    std::int32_t attempt = 1;
    std::int32_t max_retries = 0;
    std::int32_t priority = 0;
    Timestamp run_at{};
    std::optional<std::string> worker_id;
    std::optional<Timestamp> lease_expires_at;
    std::optional<std::string> error_message;
    std::optional<ErrorKind> error_kind;
    Timestamp created_at{};
    Timestamp updated_at{};
    // Attempts whose lease expired before their handler was known to have
    // started (their dispatcher died holding them): they do not count toward
    // max_retries. Runs so far: attempt - uncounted_attempts (minus one
    // while the job waits for its next run).
    std::int32_t uncounted_attempts = 0;
    // Its unique key (EnqueueOptions::unique_key), the start of the period
    // the key is unique within (unique_for), and the states in which it
    // holds the key; empty without a key.
    std::optional<std::string> unique_key;
    std::optional<Timestamp> unique_bucket;
    std::vector<JobStatus> unique_states;
    // Its failed attempts, oldest first: the last error_history_length
    // (limits.hpp). error_message and error_kind are the last one's (or, for
    // a job whose lease expired before it started, the reason it ran again;
    // for a job its handler cancelled, the reason it gave).
    std::vector<JobError> errors;
    // Runs its handler snoozed (ran again later without a failed attempt).
    // Runs that count toward max_retries: attempt - uncounted_attempts -
    // snoozes (minus one while the job waits for its next run).
    std::int32_t snoozes = 0;
};

// The counts of stats(): the seed's five states, and cancelled.
struct QueueStats {
    std::int64_t pending = 0;
    std::int64_t running = 0;
    std::int64_t succeeded = 0;
    std::int64_t failed = 0;
    std::int64_t dead_letter = 0;
    std::int64_t cancelled = 0;

    std::int64_t total() const noexcept { return pending + running + succeeded + failed + dead_letter + cancelled; }
    std::int64_t& operator[](JobStatus status) noexcept;
    friend bool operator==(const QueueStats&, const QueueStats&) = default;
};

// Formats a timestamp as ISO 8601 in UTC with microseconds
// ("2026-11-29T03:04:05.123456Z").
std::string format_timestamp(Timestamp t);

}  // namespace seesaw

#pragma once
// JobStore: the seed's storage contract. PgJobStore implements it on
// PostgreSQL; the dispatcher drives it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job.hpp"
#include "seesaw/core/job_traits.hpp"

namespace seesaw {

struct ClaimFilter {
    std::string queue = std::string(default_queue);
    // The job types the caller handles; empty means every type.
    std::vector<std::string> job_types = {};
};

// A failed attempt to report.
struct FailureReport {
    JobLease lease;
    std::string error;
    ErrorKind kind = ErrorKind::retryable;
    // The backoff before the retry; unset: the store's RetryPolicy draws it.
    std::optional<std::chrono::milliseconds> retry_delay = std::nullopt;
};

enum class FailOutcome { retry_scheduled, dead_lettered, lease_lost };

struct FailResult {
    JobId id;
    FailOutcome outcome = FailOutcome::lease_lost;
    std::int32_t next_attempt = 0;         // with retry_scheduled
    std::chrono::milliseconds retry_in{};  // with retry_scheduled: until run_at
};

class JobStore {
public:
    virtual ~JobStore() = default;

    // --- enqueue ------------------------------------------------------------
    // Validates, then inserts. A refused job (empty type, negative retries,
    // payload that is not a JSON object) throws before anything is written.
    virtual JobId enqueue(const NewJob& job) = 0;
    // All jobs in one statement (no bind-parameter limit), all or nothing.
    virtual std::vector<JobId> enqueue_batch(std::span<const NewJob> jobs) = 0;

    template <TypedJob T>
    JobId enqueue(const T& job, EnqueueOptions options = {}) {
        return enqueue(make_new_job(job, std::move(options)));
    }

    // The same, saying what happened: for a job with a unique key
    // (EnqueueOptions::unique_key) whose key another job holds, nothing is
    // inserted and the result names that job (inserted = false). enqueue()
    // returns the same id. A batch holding one key twice inserts the first.
    virtual Enqueued insert(const NewJob& job) = 0;
    virtual std::vector<Enqueued> insert_batch(std::span<const NewJob> jobs) = 0;

    template <TypedJob T>
    Enqueued insert(const T& job, EnqueueOptions options = {}) {
        return insert(make_new_job(job, std::move(options)));
    }

    template <TypedJob T>
    static NewJob make_new_job(const T& job, EnqueueOptions options = {}) {
        return NewJob{std::string(job_type_name<T>()), encode_payload(job), with_type_defaults(job, std::move(options))};
    }

    // --- claim and complete --------------------------------------------------
    // Up to `limit` due jobs of the filter's queue and types, smallest
    // priority first, then earliest run_at, then id; each is leased to
    // worker_id (FOR UPDATE SKIP LOCKED: concurrent claimers never share one).
    virtual std::vector<ClaimedJob> claim_ready(std::string_view worker_id, std::size_t limit,
                                                const ClaimFilter& filter) = 0;
    std::vector<ClaimedJob> claim_ready(std::string_view worker_id, std::size_t limit) {
        return claim_ready(worker_id, limit, ClaimFilter{});
    }

    // Fenced by id, worker, attempt and status = running: each throws
    // LeaseLostError when the caller no longer owns the job.
    virtual void mark_succeeded(const JobLease& lease) = 0;
    virtual FailResult mark_failed(const JobLease& lease, std::string_view error, ErrorKind kind) = 0;
    virtual void heartbeat(const JobLease& lease) = 0;

    // One transaction each (PgJobStore: one statement per worker id among the
    // leases, usually one). They return what was not written because the
    // lease was lost (never silently ignored).
    virtual std::vector<JobId> mark_succeeded_batch(std::span<const JobLease> leases) = 0;
    virtual std::vector<FailResult> mark_failed_batch(std::span<const FailureReport> failures) = 0;
    virtual std::vector<JobId> heartbeat_batch(std::span<const JobLease> leases) = 0;

    // --- maintenance -----------------------------------------------------------
    // Jobs whose lease expired: the run counts as a failed attempt; retried
    // after backoff, or dead-lettered when out of attempts. Returns the count.
    virtual std::uint64_t reclaim_expired() = 0;
    // Deletes succeeded jobs last updated before cutoff. Returns the count.
    virtual std::uint64_t cleanup_succeeded(Timestamp cutoff) = 0;
    virtual QueueStats stats() = 0;
    // dead_letter → pending with the attempt count reset. False when the job
    // is not in the dead letter queue; UsageError when another job holds its
    // unique key.
    virtual bool retry_dead_letter(const JobId& id) = 0;
    // Every dead-lettered job (of one type, when given) but those whose
    // unique key another job holds. Returns the count.
    virtual std::uint64_t retry_all_dead_letters(std::optional<std::string_view> job_type = std::nullopt) = 0;
};

}  // namespace seesaw

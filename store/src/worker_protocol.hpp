#pragma once
// The worker protocol around StoreSql's claim, succeed(_again), fail(_again),
// heartbeat, release and release_unknown: their parameters and the decoding
// of their rows, once, for both callers: PgJobStore, which sends them one at
// a time, and the dispatcher, which pipelines them.

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job.hpp"

namespace seesaw::detail {

// The claim's eight parameters, as text (see StoreSql::claim).
struct ClaimRequest {
    std::string_view worker_id;
    std::string_view queue;
    std::size_t limit = 0;
    const std::string* job_types_literal = nullptr;  // a text[] literal, or nullptr: any type
    std::chrono::milliseconds lease{};
    std::size_t free_workers = 0;   // how many go straight to a free worker
    std::int64_t ticket_base = 0;   // a ticket is ticket_base + the job's place in the claim
    bool durable = true;            // synchronous_commit for the claim's transaction
    // True: the jobs that go straight to a free worker count as started with
    // the claim (no ticket), as the store's claim_ready, whose caller runs
    // what it claims, wants. False (the dispatcher): they get tickets like
    // the others, and count as started once the dispatcher records their
    // start, so that a dispatcher stopped or killed between the claim and
    // the start does not use up an attempt; only a job that already lost an
    // unstarted lease counts at the claim (it is claimed only into a free
    // worker), so that a job that kills its worker at once is still counted.
    bool count_free_at_claim = true;
};
std::vector<std::string> claim_params(const ClaimRequest& request);
// Null flags for those parameters (job_types_literal == nullptr → NULL).
std::vector<bool> claim_null_params(const ClaimRequest& request);
// The text[] literal of ClaimRequest::job_types_literal for these types.
std::string job_types_literal(std::span<const std::string> job_types);

// One row of the claim's RETURNING, decoded. Views point into the PGresult.
struct ClaimedRow {
    JobId id;
    std::string_view job_type, queue, payload;
    std::int32_t version, attempt, max_retries, priority;
    Timestamp run_at, created_at, lease_expires_at;
    std::int64_t order;                  // 1, 2, ... in the claim's order
    std::optional<std::int64_t> ticket;  // none: went straight to a free worker
    std::int32_t snoozes;
    bool keeps_row;  // see claim_keeps_row
};
// The rows of a claim's result in the claim's order (UPDATE ... RETURNING loses it).
std::vector<ClaimedRow> decode_claim(const PGresult* result);
// How many due jobs the claim found (it may have left some; see StoreSql::claim).
// A claim that found only jobs it left returns no row, and this is 0.
std::size_t claim_found(const PGresult* result);

// $1 ids, $2 attempts of leases held by one worker, sorted by id (every
// statement that updates held jobs locks rows in id order: none can deadlock
// with another), then $3 the worker id. For succeed, succeed_again, release.
struct LeaseRef {
    JobId id;
    std::int32_t attempt;
    friend auto operator<=>(const LeaseRef&, const LeaseRef&) = default;
};
std::vector<std::string> lease_params(std::vector<LeaseRef>& leases /* sorted in place */, std::string_view worker_id);
// The heartbeat's: lease_params, then $4 the new lease.
std::vector<std::string> heartbeat_params(std::vector<LeaseRef>& leases /* sorted in place */,
                                          std::string_view worker_id, std::chrono::milliseconds lease);

// How a run that did not succeed ends (StoreSql::fail's kinds).
enum class FailKind { retryable, non_retryable, snooze, cancel };
std::string_view to_text(FailKind kind) noexcept;
inline FailKind fail_kind(ErrorKind kind) noexcept {
    return kind == ErrorKind::retryable ? FailKind::retryable : FailKind::non_retryable;
}

// A run of one worker's job that did not succeed, as fail and fail_again take it.
struct FailureRef {
    JobId id;
    std::int32_t attempt;
    std::string_view error;  // or a cancellation's reason
    FailKind kind;
    std::chrono::milliseconds delay;  // before a retry or after a snooze (a negative one is 0)
};
// lease_params, then $4 errors, $5 kinds, $6 delay ms.
std::vector<std::string> fail_params(std::vector<FailureRef>& failures /* sorted in place */,
                                     std::string_view worker_id);

// release_unknown's: $1 the worker id, $2 the ids it holds (and keeps).
std::vector<std::string> release_unknown_params(std::string_view worker_id, std::span<const JobId> held);

// The ids a fenced statement's RETURNING listed: the rows it wrote (succeed,
// succeed_again, release, release_unknown).
std::vector<JobId> returned_ids(const PGresult* result);
// The heartbeat's RETURNING: the leases it extended (a lost run and the
// retry of the same job differ by attempt), and those that were cancelled.
std::vector<LeaseRef> returned_leases(const PGresult* result);
std::vector<LeaseRef> cancelled_leases(const PGresult* result);

// One row of fail's (or fail_again's) RETURNING.
struct FailWritten {
    JobId id;
    JobStatus status;                    // failed (a retry is scheduled), pending (snoozed), dead_letter, cancelled
    std::int32_t attempt;                // the next attempt (failed, pending), else the last
    std::chrono::milliseconds retry_in;  // until it is due again (failed, pending)
    bool retried() const noexcept { return status == JobStatus::failed; }
};
std::vector<FailWritten> decode_fail(const PGresult* result);

}  // namespace seesaw::detail

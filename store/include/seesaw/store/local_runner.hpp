#pragma once
// The in-process fast path, as the store sees it (internal: a Dispatcher
// attaches itself to the store it was given while it runs).
//
// An enqueue through PgJobStore asks each attached runner for a slot: a free
// worker of the job's queue in a dispatcher that handles its type. With one,
// it inserts the job already running, leased to that dispatcher (attempt 1),
// and once the insert has committed hands it over in memory: no NOTIFY, no
// claim. Without one, or when the insert finds a due job of the queue with
// a higher priority waiting (or the queue paused), the job is inserted
// pending as usual and the slot is given back.
//
// Every reservation ends in exactly one of hand_over, verify or cancel.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "seesaw/core/job.hpp"
#include "seesaw/core/job_id.hpp"

namespace seesaw::detail {

// A job inserted running, leased to a local dispatcher.
struct FastJob {
    JobId id;
    std::string job_type;
    std::string payload;
    std::size_t queue = 0;  // the runner's queue index (its reservation)
    std::int32_t priority = 0;
    std::int32_t max_retries = 0;
    std::int32_t version = 1;
    Timestamp created_at{};  // the database's clock
    // When the insert was sent (steady clock, ns since epoch): its lease
    // counts from no earlier than this.
    std::int64_t sent_ns = 0;
};

class LocalRunner {
public:
    virtual ~LocalRunner() = default;
    // Any thread. A free worker of `queue` for `job_type`: the queue's index,
    // reserved until hand_over, verify or cancel.
    virtual std::optional<std::size_t> reserve(std::string_view queue, std::string_view job_type) noexcept = 0;
    // The lease holder the fast insert names.
    virtual const std::string& worker_id() const noexcept = 0;
    // The insert committed with the job running: run it. Ends the reservation.
    virtual void hand_over(FastJob job) noexcept = 0;
    // The commit's outcome is unknown: the runner reads the row and runs the
    // job only if it is there, running, and leased to it. Ends the reservation.
    virtual void verify(FastJob job) noexcept = 0;
    // The job took the normal path, or was never inserted. Ends the reservation.
    virtual void cancel(std::size_t queue) noexcept = 0;
};

}  // namespace seesaw::detail

namespace seesaw {
class Transaction;
}

namespace seesaw::detail {

// The dispatcher's hold on a handler's transaction (internal).
struct TransactionAccess {
    static void set_managed(Transaction& transaction, bool managed) noexcept;
    static bool ended(const Transaction& transaction) noexcept;
    // Commits or rolls back a managed transaction (see Transaction::commit).
    static void commit(Transaction& transaction);
    static void rollback(Transaction& transaction);
};

}  // namespace seesaw::detail

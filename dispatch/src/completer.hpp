#pragma once
// The completer: results and hand-backs of held jobs, written in batches —
// one fenced statement per kind (successes, failures, hand-backs) per flush,
// on a connection that commits durably. While a flush is in flight, results
// pile up for the next one: the batch grows with the load. A write that was
// cut off (in doubt: it may have committed) is written again idempotently;
// one the server refused is tried again at the next maintenance tick; one
// that never left waits for the connection to come back.
//
// Loop thread only.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "publisher.hpp"
#include "seesaw/core/job.hpp"
#include "statements.hpp"
#include "task.hpp"
#include "worker_protocol.hpp"

namespace seesaw::detail {

struct StoreSql;

class Completer {
public:
    struct Hooks {
        std::function<void(Task&)> settled;                                // nothing more to do for it: retire it
        std::function<void(Task&, std::chrono::milliseconds)> retry_due;  // its retry is due in this long
    };

    Completer(Statements& database, const StoreSql& sql, const std::string& worker_id, Publisher publish, Hooks hooks);

    // The connection is usable (again), or not.
    void set_ready(bool ready);

    // Tasks in state writing (or timed_out, for a failure written while the
    // handler still runs) or releasing.
    void succeeded(Task& task);
    // Any other end of a run: a failure, a snooze, a cancellation by the
    // handler (see StoreSql::fail). reported: LeaseLost was published
    // already (a timeout), so a fenced-out write says nothing more.
    void failed(Task& task, std::string error, FailKind kind, std::chrono::milliseconds delay,
                std::chrono::nanoseconds duration, bool reported);
    void release(Task& task);
    // A handler's transaction committed its success (committed), or rolled
    // back because the success fence failed: says so, and marks the task
    // written when that was its result's write (settles; not when a
    // timeout's failure write is in flight, or the run was lost already).
    // Unlike the completer's own writes it does not call the settled hook:
    // the caller (take_report) retires the task it sees settled.
    void written_in_transaction(Task& task, bool committed, bool settles);

    // Sends what waits, one statement per kind, unless that kind is in flight.
    void flush();
    // A write the server refused is tried again (at most once per call).
    void retry_refused();
    // Shutdown gave up: what waits is dropped (its leases expire).
    void drop_waiting();

    bool idle() const noexcept;
    std::size_t waiting_results() const noexcept { return successes_.size() + failures_.size(); }
    std::size_t waiting_releases() const noexcept { return releases_.size(); }
    std::size_t released() const noexcept { return released_; }

private:
    struct Failure {
        Task* task = nullptr;
        std::string error;
        FailKind kind = FailKind::retryable;
        std::chrono::milliseconds delay{};
        std::chrono::nanoseconds duration{};
        bool reported = false;
    };

    void flush_results();
    void flush_releases();
    void on_successes_written(std::vector<Task*> batch, const PGresult* result, const StatementFailure* failure);
    void on_failures_written(std::vector<Failure> batch, const PGresult* result, const StatementFailure* failure);
    void on_releases_written(std::vector<Task*> batch, const PGresult* result, const StatementFailure* failure);
    // Keeps a batch whose write failed, to write again (idempotently when it
    // may have committed). False: the server refused it.
    bool keep_after(const StatementFailure& failure, const char* what, std::size_t count);
    void written(Task& task);

    Statements& database_;
    const StoreSql& sql_;
    const std::string worker_id_;  // a copy: the caller's string need not outlive the completer
    Publisher publish_;
    Hooks hooks_;

    bool ready_ = false;
    bool refused_ = false;  // the server refused a write: wait for retry_refused()
    std::vector<Task*> successes_;
    std::vector<Failure> failures_;
    std::vector<Task*> releases_;
    int results_in_flight_ = 0;  // success and failure statements sent, not answered
    bool releases_in_flight_ = false;
    std::size_t released_ = 0;  // jobs handed back unrun
};

}  // namespace seesaw::detail

#pragma once
// The maintainer: keeps what the dispatcher holds alive and the schema
// tidy. Every heartbeat tick it fails jobs whose handlers ran past their
// timeout and extends the leases of all the jobs it holds in one statement;
// a job the heartbeat finds no longer ours is cancelled. One dispatcher per
// schema — the maintenance leader, the holder of the schema's leader row
// (leadership.hpp) — reclaims expired leases every reclaim tick, and about
// once a minute compacts the stats() change rows and forgets the listener
// and progress rows of dispatchers that died, each write fenced by its
// term. Periodic jobs and retention (periodic.hpp, retention.hpp) follow its
// leadership.
//
// Loop thread only.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "seesaw/core/job_id.hpp"

#include "leadership.hpp"
#include "publisher.hpp"
#include "seesaw/core/retry_policy.hpp"
#include "statements.hpp"
#include "task_registry.hpp"

namespace seesaw::detail {

class Completer;
struct StoreSql;

class Maintainer {
public:
    struct Settings {
        std::string worker_id;
        std::string schema;
        std::chrono::milliseconds lease{};
        RetryPolicy reclaim_backoff;  // the store's: reclaimed jobs retry with it
        std::chrono::milliseconds reclaim_interval{};
        std::chrono::milliseconds leader_ttl{};
    };
    struct Hooks {
        std::function<std::chrono::milliseconds(const Task&)> retry_delay;  // the backoff of a task's failure
        std::function<void()> reclaimed;  // jobs went back to the queue: some may be due soon
        // Leadership was won (true, under `term`) or lost (false).
        std::function<void(bool leader, std::int64_t term)> leading = {};
    };

    Maintainer(uv_loop_t* loop, Statements& database, const StoreSql& sql, TaskRegistry& tasks,
               Completer& completer, Publisher publish, Settings settings, Hooks hooks);

    // The claim connection (which this shares) is ready (it tries for
    // leadership at once), or lost (the leader stops acting; its row stays
    // its own until it expires). After a reconnect the leases are extended
    // at once: a server crash may have lost the last extension.
    void set_ready(bool ready, bool reconnected);
    // The heartbeat tick.
    void heartbeat();
    // The reclaim tick: the leader reclaims expired leases.
    void reclaim_tick();
    // A leader write of `term` (periodic, retention) found the term gone.
    void fenced_out(std::int64_t term) { leadership_.fenced_out(term); }
    // A clean stop: the leader gives its row up at once; `done` runs when
    // that is answered (at once when there is nothing to give up).
    void resign(std::function<void()> done) { leadership_.resign(std::move(done)); }
    // For good.
    void stop() noexcept { leadership_.stop(); }
    // The stop's grace ran out: handlers still running lose their job, which
    // is failed as retryable (they see ctx.cancelled()).
    void interrupt_running(std::chrono::milliseconds grace);
    // These jobs were cancelled (PgJobStore::cancel; the control channel
    // said so, or a heartbeat found it): those we hold are not ours any more
    // — a waiting one never starts, a running handler sees ctx.cancelled(),
    // and nothing of them is written.
    void cancelled(const std::vector<JobId>& ids);

private:
    void set_leader(bool leader, std::int64_t term, std::string_view why = {});
    // A fenced statement's first column: false when the term was gone.
    bool still_leading(const PGresult* result, std::int64_t term);
    void time_out(Task& task, const std::string& reason);
    void lose_lease(Task& task, std::string_view reason);
    void cancel(Task& task);
    void reclaim();
    void housekeeping(std::int64_t term);

    Statements& database_;
    const StoreSql& sql_;
    TaskRegistry& tasks_;
    Completer& completer_;
    Publisher publish_;
    const Settings settings_;
    const Hooks hooks_;
    const std::uint32_t reclaims_per_housekeeping_;

    bool ready_ = false;
    Leadership leadership_;
    bool heartbeat_in_flight_ = false;
    bool reclaim_in_flight_ = false;
    std::uint32_t reclaims_ = 0;
};

}  // namespace seesaw::detail

#pragma once
// Retention: while this dispatcher is the maintenance leader, it deletes
// finished jobs older than their state's retention (RetentionOptions), by
// the database's clock, every sweep interval: at least once a minute and
// at least as often as the shortest period. Each statement deletes a
// bounded batch (its own short transaction, rows locked SKIP LOCKED), and
// the next batch goes only after a pause twice as long as the batch took,
// behind whatever the connection was asked meanwhile: a backlog of millions
// never holds long locks nor one huge transaction, takes about a third of
// one server backend's time (producers keep their latency: seesaw-bench
// --mode prune), and claims on the same connection keep flowing.
//
// Loop thread only.

#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "loop.hpp"
#include "publisher.hpp"
#include "seesaw/core/job.hpp"
#include "statements.hpp"

namespace seesaw::detail {

struct StoreSql;

class Retention {
public:
    struct Period {
        JobStatus status;
        std::chrono::milliseconds age;
    };
    // Rows per delete statement.
    static constexpr std::int64_t batch = 1000;

    // fenced_out: a delete under this term found the term gone (the leader
    // was replaced).
    Retention(uv_loop_t* loop, Statements& database, const StoreSql& sql, Publisher publish, std::string worker_id,
              std::vector<Period> periods, std::function<void(std::int64_t term)> fenced_out = {});
    Retention(const Retention&) = delete;
    Retention& operator=(const Retention&) = delete;

    // Sweeps at once on winning leadership (under `term`, which every delete
    // is fenced by), then every interval().
    void set_leader(bool leader, std::int64_t term = 0);
    void stop() noexcept;
    std::chrono::milliseconds interval() const noexcept { return interval_; }

private:
    void sweep();
    void delete_batch(std::size_t period);
    void finish_sweep();
    void stop_timers() noexcept;

    Statements& database_;
    const StoreSql& sql_;
    Publisher publish_;
    const std::string worker_id_;
    const std::vector<Period> periods_;
    const std::chrono::milliseconds interval_;
    Timer timer_;        // the next sweep
    Timer pace_timer_;   // the next batch of this sweep
    std::size_t paced_period_ = 0;  // what pace_timer_ deletes next
    const std::function<void(std::int64_t term)> fenced_out_;
    bool leader_ = false;
    bool stopped_ = false;
    bool sweeping_ = false;
    std::int64_t term_ = 0;  // the leader's, while leading
    std::uint64_t generation_ = 0;  // bumped at every change of leadership
    std::vector<std::uint64_t> deleted_;  // this sweep's, per period
};

}  // namespace seesaw::detail

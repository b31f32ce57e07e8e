#pragma once
// One queue as the producer claims for it: its wake-up mode, its prefetch,
// the jobs it holds, its claim in flight, its timers and the start
// watermark of the jobs it holds ahead of its workers.
//
// Loop thread only (the producer's), except name, index and workers, which
// are immutable and read by any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "loop.hpp"
#include "prefetch.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "start_watermark.hpp"
#include "wake_switch.hpp"

namespace seesaw::detail {

using SteadyClock = std::chrono::steady_clock;

struct QueueState {
    QueueState(const QueueOptions& options, std::size_t queue_index, std::int64_t first_ticket,
               std::chrono::milliseconds busy_poll_interval)
        : name(options.name),
          index(queue_index),
          workers(options.workers),
          prefetch(options.workers, options.prefetch, QueueOptions::max_adaptive_prefetch),
          wake(busy_poll_interval),
          next_ticket(first_ticket),
          progress(first_ticket) {}

    const std::string name;
    const std::size_t index;  // in DispatcherOptions::queues (and the executor's pools)
    const std::size_t workers;

    PrefetchPolicy prefetch;
    WakeSwitch wake;
    std::size_t held = 0;          // claimed and not yet returned by a worker
    std::int64_t next_ticket;      // the tickets of the next claim are above it
    StartWatermark progress;       // how far the workers got through held jobs

    bool paused = false;            // PgJobStore::pause_queue: no claims until resumed
    std::uint64_t pause_notices = 0;  // pause/resume notifications seen (a refresh sent before one is stale)

    bool claim_in_flight = false;  // at most one claim per queue at a time
    bool claim_again = false;      // a wake-up came while the claim was in flight
    bool wanted = true;            // there may be due jobs to claim
    SteadyClock::time_point claim_sent_at{};
    std::size_t claimed_in_tick = 0;  // jobs claimed since the last rate tick

    bool due_check = true;          // ask when the next scheduled job is due
    bool due_check_in_flight = false;
    std::optional<SteadyClock::time_point> due_at;
    Timer due_timer;   // fires when the next scheduled job (or retry) is due
    Timer busy_timer;  // busy mode: the next claim after a short one
};

}  // namespace seesaw::detail

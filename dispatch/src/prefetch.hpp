#pragma once
// How many jobs one queue may hold: its workers plus prefetch (jobs claimed
// ahead of a free worker, waiting in memory). A fixed prefetch stays as
// given. An adaptive one covers timing::prefetch_round_trips claim round
// trips at the rate the queue's handlers finish jobs (Little's law), from
// one per worker up to max_adaptive_prefetch:
//
//            full claim while the workers starve: double (at once)
//          ┌────────────────┐
//          ▼                │
//   workers ≤ prefetch ≤ max_adaptive_prefetch
//          │                ▲
//          └────────────────┘
//            each tick: up to the target at once, down toward it by a quarter
//
// Quick jobs get few large claims; slow jobs stay spread over the
// dispatchers that serve the queue. Plain logic; loop thread only.

#include <algorithm>
#include <cstddef>
#include <optional>

#include "timing.hpp"

namespace seesaw::detail {

class PrefetchPolicy {
public:
    PrefetchPolicy(std::size_t workers, std::optional<std::size_t> fixed, std::size_t max_adaptive)
        : workers_(workers), fixed_(fixed), max_(std::max(max_adaptive, workers)),
          prefetch_(fixed.value_or(workers)) {}

    // Workers plus prefetch: claims never hold more.
    std::size_t capacity() const noexcept { return workers_ + prefetch_; }
    std::size_t prefetch() const noexcept { return prefetch_; }
    double completion_rate() const noexcept { return completion_rate_; }
    double claim_seconds() const noexcept { return claim_seconds_; }

    void claim_returned(double round_trip_seconds) noexcept {
        claim_seconds_ = 0.8 * claim_seconds_ + 0.2 * round_trip_seconds;
    }
    void handler_returned() noexcept { ++completed_in_tick_; }

    // A claim came back full while the workers had nothing left to take:
    // they starve between claims, so claim more at a time.
    void starving() noexcept {
        if (!fixed_) prefetch_ = std::min(prefetch_ * 2, max_);
    }

    // Once per rate tick. True when the capacity grew (claim for it now).
    bool tick() noexcept {
        const double rate = static_cast<double>(completed_in_tick_) * timing::ticks_per_second;
        completed_in_tick_ = 0;
        completion_rate_ = 0.5 * completion_rate_ + 0.5 * rate;
        if (fixed_) return false;
        const auto target = std::clamp<std::size_t>(
            static_cast<std::size_t>(timing::prefetch_round_trips * completion_rate_ * claim_seconds_), workers_, max_);
        const std::size_t next =
            target >= prefetch_ ? target
                                : std::max(target, static_cast<std::size_t>(static_cast<double>(prefetch_) * timing::prefetch_decay));
        const bool grew = next > prefetch_;
        prefetch_ = next;
        return grew;
    }

private:
    const std::size_t workers_;
    const std::optional<std::size_t> fixed_;
    const std::size_t max_;
    std::size_t prefetch_;
    std::size_t completed_in_tick_ = 0;
    double completion_rate_ = 0;   // jobs/s, smoothed
    double claim_seconds_ = 0.002;  // claim round trip, smoothed
};

}  // namespace seesaw::detail

#pragma once
// How one queue learns of new jobs: the wake-up protocol's state machine.
//
//                 listening and claiming            barrier passed
//   unregistered ─────────────────────▶ arming ─────────────────────▶ armed
//        ▲   ▲                           │  ▲                           │
//        │   └───── arm failed ──────────┘  │ quiet for                 │ producers overlap
//        │                                   │ quiet_ticks_to_arm ticks  │ while jobs are claimed
//        │ disconnected (from any)           │                           ▼
//        └──────────────────────────────── busy ◀───────────────────────┘
//
// armed: idle, producers NOTIFY us (the insert trigger reads our listener
// row); busy: producers do not notify (their commits stay parallel) and we
// claim continuously, backing off while claims come back empty. Arming
// marks the listener row armed, then passes the queue's advisory barrier
// (every producer that read "not armed" has committed), then claims: no
// wake-up is lost either way. Each arming has a generation: the answer of an
// arming that a later one superseded is ignored.
//
// Plain logic: the caller sends the statements an Action asks for and
// reports back. Loop thread only.

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "timing.hpp"

namespace seesaw::detail {

class WakeSwitch {
public:
    enum class Mode { unregistered, arming, armed, busy };
    // What the caller must do after a transition.
    enum class Action {
        none,
        arm,      // mark the listener armed, pass the barrier, then report armed(generation(), ok)
        go_busy,  // mark the listener disarmed and claim now
    };

    explicit WakeSwitch(std::chrono::milliseconds busy_poll_interval)
        : busy_base_(std::max(busy_poll_interval, std::chrono::milliseconds(1))), busy_delay_(busy_base_) {}

    Mode mode() const noexcept { return mode_; }
    std::uint32_t generation() const noexcept { return generation_; }

    // Both the LISTEN and the claiming connection are ready.
    Action connected() noexcept { return start_arming(); }
    // A connection was lost: arm again when connected.
    void disconnected() noexcept {
        mode_ = Mode::unregistered;
        ++generation_;
    }
    // The arming of `generation` answered. True: armed now, claim at once
    // (jobs committed without notifying us are visible now).
    bool armed(std::uint32_t generation, bool ok) noexcept {
        if (generation != generation_ || mode_ != Mode::arming) return false;  // superseded
        mode_ = ok ? Mode::armed : Mode::unregistered;
        return ok;
    }
    // Once per rate tick: overlapping producer transactions seen during the
    // tick, jobs this queue claimed during it, and whether we listen.
    Action tick(std::int64_t overlaps, std::size_t claimed, bool listening) noexcept {
        const bool crowded = overlaps >= timing::overlaps_per_tick_for_busy;
        switch (mode_) {
            case Mode::armed:
                if (crowded && claimed > 0) {
                    mode_ = Mode::busy;
                    ++generation_;
                    quiet_ticks_ = 0;
                    busy_delay_ = busy_base_;
                    return Action::go_busy;
                }
                return Action::none;
            case Mode::busy:
                quiet_ticks_ = crowded ? 0 : quiet_ticks_ + 1;
                return quiet_ticks_ >= timing::quiet_ticks_to_arm && listening ? start_arming() : Action::none;
            case Mode::unregistered:
                return listening ? start_arming() : Action::none;  // an arming a lost connection cut off
            case Mode::arming: return Action::none;
        }
        return Action::none;
    }
    // Busy: how long until the next claim, after one that found jobs or not
    // (doubling while claims come back empty, up to busy_backoff_limit times
    // the base).
    std::chrono::milliseconds next_busy_claim(bool found_jobs) noexcept {
        busy_delay_ = found_jobs ? busy_base_
                                 : std::min(std::max(busy_delay_ * 2, busy_base_), busy_base_ * timing::busy_backoff_limit);
        return busy_delay_;
    }

private:
    Action start_arming() noexcept {
        mode_ = Mode::arming;
        ++generation_;
        return Action::arm;
    }

    const std::chrono::milliseconds busy_base_;
    Mode mode_ = Mode::unregistered;
    std::uint32_t generation_ = 0;
    std::uint32_t quiet_ticks_ = 0;
    std::chrono::milliseconds busy_delay_;
};

}  // namespace seesaw::detail

#pragma once
// The dispatcher's intervals and ratios that other places depend on, each
// derived from the ones it depends on.

#include <chrono>
#include <cstdint>

namespace seesaw::detail::timing {

using namespace std::chrono_literals;

// The loop's policy tick: wake-mode decisions, prefetch adaptation, start
// notices of long jobs, progress records.
inline constexpr std::chrono::milliseconds rate_tick = 100ms;
inline constexpr double ticks_per_second = 1000.0 / static_cast<double>(rate_tick.count());

// Wake-up switch: overlapping producer transactions per tick that make a
// queue with work go busy, and how long without them arms it again.
inline constexpr std::int64_t overlaps_per_tick_for_busy = 3;
inline constexpr std::chrono::milliseconds quiet_before_arming = 500ms;
inline constexpr std::uint32_t quiet_ticks_to_arm = static_cast<std::uint32_t>(quiet_before_arming / rate_tick);
// A busy queue whose claims come back empty backs off up to this many times
// busy_poll_interval.
inline constexpr int busy_backoff_limit = 32;

// Listener rows: a dispatcher touches its own this often; the leader forgets
// rows not seen for six touches (a dispatcher that died).
inline constexpr std::chrono::milliseconds listener_touch_interval = 10s;
inline constexpr std::chrono::milliseconds listener_expiry = 6 * listener_touch_interval;
inline constexpr std::uint32_t ticks_per_listener_touch =
    static_cast<std::uint32_t>(listener_touch_interval / rate_tick);

// Progress rows (StartWatermark) of a dispatcher that holds nothing and has
// not written for this long are forgotten.
inline constexpr std::chrono::milliseconds progress_expiry = 1h;

// Leader housekeeping (compacting the stats() change rows, forgetting dead
// listeners and progress rows) about once a minute, whatever the reclaim
// interval.
inline constexpr std::chrono::milliseconds housekeeping_interval = 60s;

// Maintenance leadership (leadership.hpp): the row is renewed at least
// this many times per leader_ttl, and the leader stops acting a tenth of
// the ttl before its row expires (counted from when the renewal was sent),
// for clock drift.
inline constexpr int leader_renewals_per_ttl = 3;
inline constexpr int leader_margin_divisor = 10;

// Prefetch covers this many claim round trips at the handlers' completion
// rate; above its target it shrinks by a quarter a tick.
inline constexpr double prefetch_round_trips = 8.0;
inline constexpr double prefetch_decay = 0.75;

// A lease as the dispatcher relies on it: a third of it between
// heartbeats, and a tenth of it kept back for clock drift and the hand-off
// (a job that waited longer is not started).
inline constexpr int heartbeats_per_lease = 3;
inline constexpr int lease_margin_divisor = 10;

}  // namespace seesaw::detail::timing

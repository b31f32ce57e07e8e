#pragma once
// Exponential backoff with full jitter: the delay before retry n (n = the
// attempt that just failed, from 1) is uniform in [0, min(cap, base·2^(n-1))].
// Full jitter spreads retries of jobs that failed together (no retry storms).

#include <chrono>
#include <cstdint>

namespace seesaw {

struct RetryPolicy {
    std::chrono::milliseconds base{1000};
    std::chrono::milliseconds cap{std::chrono::hours(1)};

    // The upper bound of the delay after the given failed attempt.
    std::chrono::milliseconds max_delay(std::int32_t failed_attempt) const noexcept;
    // A delay drawn uniformly from [0, max_delay(failed_attempt)] with a
    // per-thread generator.
    std::chrono::milliseconds delay(std::int32_t failed_attempt) const;
    // The same, with the draw given: unit in [0, 1).
    std::chrono::milliseconds delay(std::int32_t failed_attempt, double unit) const noexcept;
};

}  // namespace seesaw

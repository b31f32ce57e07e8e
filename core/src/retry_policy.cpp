#include "seesaw/core/retry_policy.hpp"

#include <algorithm>
#include <random>

namespace seesaw {

std::chrono::milliseconds RetryPolicy::max_delay(std::int32_t failed_attempt) const noexcept {
    auto base_ms = std::max<std::int64_t>(0, base.count());
    auto cap_ms = std::max<std::int64_t>(0, cap.count());
    // failed_attempt - 1 in 64 bits: no overflow for INT32_MIN.
    auto doublings = std::clamp<std::int64_t>(std::int64_t{failed_attempt} - 1, 0, 62);
    // base·2^d, saturating at the cap before it can overflow.
    std::int64_t delay = std::min(base_ms, cap_ms);
    for (std::int64_t i = 0; i < doublings && delay < cap_ms; ++i)
        delay = delay > cap_ms / 2 ? cap_ms : delay * 2;
    return std::chrono::milliseconds(delay);
}

std::chrono::milliseconds RetryPolicy::delay(std::int32_t failed_attempt, double unit) const noexcept {
    auto bound = max_delay(failed_attempt).count();
    unit = std::clamp(unit, 0.0, 1.0);
    // Rounded in double; near the int64 limit the double may exceed the
    // bound, so clamp before converting back.
    double scaled = static_cast<double>(bound) * unit + 0.5;
    if (scaled >= static_cast<double>(bound)) return std::chrono::milliseconds(bound);
    return std::chrono::milliseconds(static_cast<std::int64_t>(scaled));
}

std::chrono::milliseconds RetryPolicy::delay(std::int32_t failed_attempt) const {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return delay(failed_attempt, unit(generator));
}

}  // namespace seesaw

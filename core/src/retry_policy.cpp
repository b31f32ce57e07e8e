#include "seesaw/core/retry_policy.hpp"

#include <algorithm>
#include <random>

namespace seesaw {

std::chrono::milliseconds RetryPolicy::max_delay(std::int32_t failed_attempt) const noexcept {
    auto base_ms = std::max<std::int64_t>(0, base.count());
    auto cap_ms = std::max<std::int64_t>(0, cap.count());
    auto doublings = std::clamp<std::int32_t>(failed_attempt - 1, 0, 62);
    // base·2^d, saturating before it can overflow.
    std::int64_t delay = base_ms;
    for (std::int32_t i = 0; i < doublings && delay < cap_ms; ++i) delay *= 2;
    return std::chrono::milliseconds(std::min(delay, cap_ms));
}

std::chrono::milliseconds RetryPolicy::delay(std::int32_t failed_attempt, double unit) const noexcept {
    auto bound = static_cast<double>(max_delay(failed_attempt).count());
    unit = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(bound * unit + 0.5));
}

std::chrono::milliseconds RetryPolicy::delay(std::int32_t failed_attempt) const {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return delay(failed_attempt, unit(generator));
}

}  // namespace seesaw

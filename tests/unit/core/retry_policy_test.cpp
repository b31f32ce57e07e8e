#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

#include "seesaw/core/retry_policy.hpp"

namespace seesaw {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, DefaultsAreOneSecondBaseAndOneHourCap) {
    RetryPolicy policy;
    EXPECT_EQ(policy.base, milliseconds(1000));
    EXPECT_EQ(policy.cap, milliseconds(3'600'000));
}

TEST(RetryPolicy, MaxDelayDoublesFromTheBaseUntilTheCap) {
    RetryPolicy policy{milliseconds(100), milliseconds(5000)};
    EXPECT_EQ(policy.max_delay(1), milliseconds(100));
    EXPECT_EQ(policy.max_delay(2), milliseconds(200));
    EXPECT_EQ(policy.max_delay(3), milliseconds(400));
    EXPECT_EQ(policy.max_delay(4), milliseconds(800));
    EXPECT_EQ(policy.max_delay(5), milliseconds(1600));
    EXPECT_EQ(policy.max_delay(6), milliseconds(3200));
    EXPECT_EQ(policy.max_delay(7), milliseconds(5000));
    EXPECT_EQ(policy.max_delay(8), milliseconds(5000));
    EXPECT_EQ(policy.max_delay(1000), milliseconds(5000));
}

TEST(RetryPolicy, MaxDelayNeverShrinksAsAttemptsGrow) {
    RetryPolicy policy;  // 1 s base, 1 h cap
    auto previous = policy.max_delay(1);
    for (std::int32_t attempt = 2; attempt < 200; ++attempt) {
        auto next = policy.max_delay(attempt);
        EXPECT_GE(next, previous) << "attempt " << attempt;
        EXPECT_LE(next, policy.cap) << "attempt " << attempt;
        previous = next;
    }
    EXPECT_EQ(previous, policy.cap);
}

TEST(RetryPolicy, AttemptsBelowOneUseTheBase) {
    RetryPolicy policy{milliseconds(250), milliseconds(10'000)};
    EXPECT_EQ(policy.max_delay(0), milliseconds(250));
    EXPECT_EQ(policy.max_delay(-5), milliseconds(250));
    EXPECT_EQ(policy.max_delay(std::numeric_limits<std::int32_t>::min()), milliseconds(250));
}

TEST(RetryPolicy, NegativeSettingsGiveNoDelayRatherThanANegativeOne) {
    RetryPolicy negative_base{milliseconds(-100), milliseconds(1000)};
    RetryPolicy negative_cap{milliseconds(100), milliseconds(-1000)};
    for (std::int32_t attempt : {1, 2, 10, 100}) {
        EXPECT_EQ(negative_base.max_delay(attempt), milliseconds(0));
        EXPECT_EQ(negative_cap.max_delay(attempt), milliseconds(0));
        EXPECT_EQ(negative_cap.delay(attempt), milliseconds(0));
    }
}

TEST(RetryPolicy, HugeAttemptsAndAHugeCapDoNotOverflow) {
    // An effectively uncapped policy: base·2^(n-1) must saturate, not wrap.
    RetryPolicy uncapped{milliseconds(1000), milliseconds::max()};
    auto previous = milliseconds(0);
    for (std::int32_t attempt : {1, 10, 40, 50, 53, 54, 55, 60, 62, 63, 64, 100, 1000,
                                 std::numeric_limits<std::int32_t>::max()}) {
        auto bound = uncapped.max_delay(attempt);
        EXPECT_GT(bound, milliseconds(0)) << "attempt " << attempt;
        EXPECT_GE(bound, previous) << "attempt " << attempt;
        auto drawn = uncapped.delay(attempt, 0.999999);
        EXPECT_GE(drawn, milliseconds(0)) << "attempt " << attempt;
        EXPECT_LE(drawn, bound) << "attempt " << attempt;
        EXPECT_EQ(uncapped.delay(attempt, 1.0), bound) << "attempt " << attempt;
        previous = bound;
    }
    EXPECT_EQ(uncapped.max_delay(std::numeric_limits<std::int32_t>::max()), milliseconds::max());

    RetryPolicy big_base{milliseconds::max() / 3, milliseconds::max()};
    EXPECT_EQ(big_base.max_delay(1), milliseconds::max() / 3);
    EXPECT_EQ(big_base.max_delay(3), milliseconds::max());
}

TEST(RetryPolicy, JitteredDelayStaysWithinZeroAndTheMax) {
    RetryPolicy policy{milliseconds(10), milliseconds(1000)};
    for (std::int32_t attempt = 1; attempt <= 12; ++attempt) {
        auto bound = policy.max_delay(attempt);
        for (int i = 0; i < 2000; ++i) {
            auto d = policy.delay(attempt);
            ASSERT_GE(d, milliseconds(0)) << "attempt " << attempt;
            ASSERT_LE(d, bound) << "attempt " << attempt;
        }
    }
}

TEST(RetryPolicy, JitterIsFull) {
    // Full jitter: the draw spans the whole range, from near zero to near the
    // bound (without it, jobs that failed together retry together).
    RetryPolicy policy{milliseconds(1000), milliseconds(3'600'000)};
    auto bound = policy.max_delay(5);  // 16 s
    auto lowest = bound;
    auto highest = milliseconds(0);
    for (int i = 0; i < 10'000; ++i) {
        auto d = policy.delay(5);
        lowest = std::min(lowest, d);
        highest = std::max(highest, d);
    }
    EXPECT_LT(lowest, bound / 10);
    EXPECT_GT(highest, bound * 9 / 10);
}

TEST(RetryPolicy, DrawMapsTheUnitIntervalOntoTheRange) {
    RetryPolicy policy{milliseconds(1000), milliseconds(60'000)};
    EXPECT_EQ(policy.delay(3, 0.0), milliseconds(0));
    EXPECT_EQ(policy.delay(3, 0.5), milliseconds(2000));
    EXPECT_EQ(policy.delay(3, 1.0), milliseconds(4000));
    // Out-of-range draws are clamped.
    EXPECT_EQ(policy.delay(3, -1.0), milliseconds(0));
    EXPECT_EQ(policy.delay(3, 7.0), milliseconds(4000));
}

}  // namespace
}  // namespace seesaw

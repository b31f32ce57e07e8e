// The adaptive prefetch: growth when workers starve, Little's-law target,
// decay by a quarter a tick.
#include "prefetch.hpp"

#include <gtest/gtest.h>

namespace seesaw::detail {
namespace {

TEST(PrefetchPolicy, StartsAtOnePerWorkerAndDoublesWhileWorkersStarveUpToTheCap) {
    PrefetchPolicy p(4, std::nullopt, 64);
    EXPECT_EQ(p.prefetch(), 4u);
    EXPECT_EQ(p.capacity(), 8u);
    p.starving();
    EXPECT_EQ(p.prefetch(), 8u);
    for (int i = 0; i < 10; ++i) p.starving();
    EXPECT_EQ(p.prefetch(), 64u);
}

TEST(PrefetchPolicy, AFixedPrefetchNeverMoves) {
    PrefetchPolicy p(4, 10, 64);
    p.starving();
    for (int i = 0; i < 1000; ++i) p.handler_returned();
    EXPECT_FALSE(p.tick());
    EXPECT_EQ(p.capacity(), 14u);
}

TEST(PrefetchPolicy, CoversSeveralClaimRoundTripsAtTheCompletionRate) {
    PrefetchPolicy p(2, std::nullopt, 1024);
    for (int i = 0; i < 20; ++i) p.claim_returned(0.010);  // 10 ms round trips, smoothed toward it
    // 100 jobs a tick = 1,000 jobs/s; the smoothed rate reaches it in a few ticks.
    bool grew = false;
    for (int tick = 0; tick < 20; ++tick) {
        for (int i = 0; i < 100; ++i) p.handler_returned();
        grew = p.tick() || grew;
    }
    EXPECT_TRUE(grew);
    const auto expected = static_cast<std::size_t>(timing::prefetch_round_trips * p.completion_rate() * p.claim_seconds());
    EXPECT_EQ(p.prefetch(), expected);
    EXPECT_GT(p.prefetch(), 60u);
}

TEST(PrefetchPolicy, ShrinksByAQuarterATickDownToOnePerWorker) {
    PrefetchPolicy p(4, std::nullopt, 1024);
    for (int i = 0; i < 5; ++i) p.starving();
    ASSERT_EQ(p.prefetch(), 128u);
    EXPECT_FALSE(p.tick()) << "no completions: the target is the floor";
    EXPECT_EQ(p.prefetch(), 96u);
    p.tick();
    EXPECT_EQ(p.prefetch(), 72u);
    for (int i = 0; i < 50; ++i) p.tick();
    EXPECT_EQ(p.prefetch(), 4u);
}

TEST(PrefetchPolicy, MoreWorkersThanTheCapKeepOnePerWorker) {
    PrefetchPolicy p(2000, std::nullopt, 1024);
    p.tick();
    EXPECT_EQ(p.prefetch(), 2000u);
}

}  // namespace
}  // namespace seesaw::detail

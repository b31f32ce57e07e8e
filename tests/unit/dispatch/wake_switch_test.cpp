// The wake-up switch driven by a fake contention feed.
#include "wake_switch.hpp"

#include <gtest/gtest.h>

namespace seesaw::detail {
namespace {

using Mode = WakeSwitch::Mode;
using Action = WakeSwitch::Action;
using namespace std::chrono_literals;

WakeSwitch armed_switch() {
    WakeSwitch w(1ms);
    EXPECT_EQ(w.connected(), Action::arm);
    EXPECT_TRUE(w.armed(w.generation(), true));
    EXPECT_EQ(w.mode(), Mode::armed);
    return w;
}

TEST(WakeSwitch, ArmsWhenConnectedAndClaimsOnceArmed) {
    WakeSwitch w(1ms);
    EXPECT_EQ(w.mode(), Mode::unregistered);
    EXPECT_EQ(w.tick(0, 0, false), Action::none) << "not listening: nothing to arm";
    EXPECT_EQ(w.connected(), Action::arm);
    EXPECT_EQ(w.mode(), Mode::arming);
    EXPECT_TRUE(w.armed(w.generation(), true));
    EXPECT_EQ(w.mode(), Mode::armed);
}

TEST(WakeSwitch, AnArmingThatFailsIsTriedAgainAtTheNextTick) {
    WakeSwitch w(1ms);
    w.connected();
    EXPECT_FALSE(w.armed(w.generation(), false));
    EXPECT_EQ(w.mode(), Mode::unregistered);
    EXPECT_EQ(w.tick(0, 0, true), Action::arm);
}

TEST(WakeSwitch, GoesBusyOnlyWhenProducersOverlapWhileJobsAreClaimed) {
    auto w = armed_switch();
    EXPECT_EQ(w.tick(timing::overlaps_per_tick_for_busy, 0, true), Action::none) << "overlap, nothing claimed";
    EXPECT_EQ(w.tick(timing::overlaps_per_tick_for_busy - 1, 50, true), Action::none) << "claims, too little overlap";
    EXPECT_EQ(w.tick(timing::overlaps_per_tick_for_busy, 1, true), Action::go_busy);
    EXPECT_EQ(w.mode(), Mode::busy);
}

TEST(WakeSwitch, ArmsAgainAfterTheQuietTicksAndOverlapStartsTheCountAgain) {
    auto w = armed_switch();
    w.tick(10, 1, true);
    ASSERT_EQ(w.mode(), Mode::busy);
    for (std::uint32_t i = 1; i < timing::quiet_ticks_to_arm; ++i) EXPECT_EQ(w.tick(0, 5, true), Action::none) << i;
    EXPECT_EQ(w.tick(10, 5, true), Action::none) << "overlap again: the quiet count starts over";
    for (std::uint32_t i = 1; i < timing::quiet_ticks_to_arm; ++i) EXPECT_EQ(w.tick(0, 5, true), Action::none) << i;
    EXPECT_EQ(w.tick(0, 5, true), Action::arm);
    EXPECT_EQ(w.mode(), Mode::arming);
}

TEST(WakeSwitch, ABusyQueueThatStoppedListeningStaysBusyUntilItListensAgain) {
    auto w = armed_switch();
    w.tick(10, 1, true);
    for (std::uint32_t i = 0; i < timing::quiet_ticks_to_arm * 2; ++i) EXPECT_EQ(w.tick(0, 0, false), Action::none);
    EXPECT_EQ(w.mode(), Mode::busy);
    EXPECT_EQ(w.tick(0, 0, true), Action::arm);
}

TEST(WakeSwitch, AnArmingSupersededByAReconnectIsIgnored) {
    WakeSwitch w(1ms);
    w.connected();
    const auto first = w.generation();
    w.disconnected();
    EXPECT_EQ(w.connected(), Action::arm);
    EXPECT_FALSE(w.armed(first, true)) << "the first arming's answer arrives late";
    EXPECT_EQ(w.mode(), Mode::arming);
    EXPECT_TRUE(w.armed(w.generation(), true));
}

TEST(WakeSwitch, AnArmingSupersededByGoingBusyIsIgnored) {
    auto w = armed_switch();
    w.tick(10, 1, true);
    for (std::uint32_t i = 0; i < timing::quiet_ticks_to_arm; ++i) w.tick(0, 0, true);
    ASSERT_EQ(w.mode(), Mode::arming);
    const auto arming = w.generation();
    w.disconnected();
    EXPECT_FALSE(w.armed(arming, true));
    EXPECT_EQ(w.mode(), Mode::unregistered);
}

TEST(WakeSwitch, BusyClaimsBackOffWhileEmptyAndResetWhenTheyFindJobs) {
    WakeSwitch w(2ms);
    EXPECT_EQ(w.next_busy_claim(false), 4ms);
    EXPECT_EQ(w.next_busy_claim(false), 8ms);
    for (int i = 0; i < 10; ++i) w.next_busy_claim(false);
    EXPECT_EQ(w.next_busy_claim(false), 2ms * timing::busy_backoff_limit);
    EXPECT_EQ(w.next_busy_claim(true), 2ms);
}

}  // namespace
}  // namespace seesaw::detail

#include "start_watermark.hpp"

#include <gtest/gtest.h>

namespace seesaw::detail {
namespace {

TEST(StartWatermark, PassesOnlyAnUnbrokenRunOfStartedTickets) {
    StartWatermark w(100);
    EXPECT_EQ(w.through(), 100);
    for (std::int64_t t : {101, 102, 103, 105}) w.hold(t);  // 104: a gap (a job the claim left)
    w.pass(102);
    EXPECT_EQ(w.through(), 100) << "101 has not started";
    w.pass(101);
    EXPECT_EQ(w.through(), 102);
    w.pass(105);
    EXPECT_EQ(w.through(), 102) << "103 holds it back";
    w.pass(103);
    EXPECT_EQ(w.through(), 105) << "a gap is no job of ours";
    EXPECT_EQ(w.held(), 0u);
}

TEST(StartWatermark, IgnoresUnknownAndRepeatedTickets) {
    StartWatermark w(0);
    w.hold(1);
    w.hold(2);
    w.pass(7);
    w.pass(1);
    w.pass(1);
    EXPECT_EQ(w.through(), 1);
    w.hold(2);  // again, out of order: ignored
    EXPECT_EQ(w.held(), 1u);
}

TEST(StartWatermark, RecordsOnlyWhatMovedAndOneWriteAtATime) {
    StartWatermark w(10);
    EXPECT_FALSE(w.to_record()) << "nothing moved";
    w.hold(11);
    w.hold(12);
    w.pass(11);
    ASSERT_EQ(w.to_record(), 11);
    w.recording(11);
    w.pass(12);
    EXPECT_FALSE(w.to_record()) << "a write is in flight";
    w.recorded(true);
    ASSERT_EQ(w.to_record(), 12);
    w.recording(12);
    w.recorded(false);  // the connection broke: write it again
    ASSERT_EQ(w.to_record(), 12);
    w.recording(12);
    w.recorded(true);
    EXPECT_FALSE(w.to_record());
    w.forget_recorded();  // a server crash may have lost it
    EXPECT_EQ(w.to_record(), 12);
}

}  // namespace
}  // namespace seesaw::detail

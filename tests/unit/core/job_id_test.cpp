#include <gtest/gtest.h>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job_id.hpp"

namespace seesaw {
namespace {

TEST(JobId, GeneratesVersion7IdsInIncreasingOrder) {
    auto previous = JobId::generate();
    for (int i = 0; i < 10000; ++i) {
        auto next = JobId::generate();
        EXPECT_LT(previous, next);
        EXPECT_EQ(next.bytes()[6] >> 4, 7);
        EXPECT_EQ(next.bytes()[8] >> 6, 2);
        previous = next;
    }
}

TEST(JobId, RoundTripsThroughText) {
    auto id = JobId::generate();
    EXPECT_EQ(JobId::parse(id.to_string()), id);
    EXPECT_THROW(JobId::parse("not-a-uuid"), UsageError);
}

}  // namespace
}  // namespace seesaw

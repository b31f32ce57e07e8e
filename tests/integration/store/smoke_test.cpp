#include "test_database.hpp"

namespace seesaw::test {
namespace {

class StoreSmoke : public SchemaTest {};

TEST_F(StoreSmoke, EnqueueClaimComplete) {
    auto id = store_->enqueue(NewJob{"send_email", R"({"to":"a@b.c"})"});
    auto jobs = store_->claim_ready("w1", 10);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].id, id);
    store_->mark_succeeded(jobs[0].lease());
    auto stats = store_->stats();
    EXPECT_EQ(stats.succeeded, 1);
    EXPECT_EQ(stats.pending, 0);
}

}  // namespace
}  // namespace seesaw::test

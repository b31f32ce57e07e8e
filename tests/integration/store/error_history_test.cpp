// Error history: every failed attempt is kept on the job (the last 20), as
// the store and the dispatcher write failures (one statement for both).
#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class ErrorHistory : public StoreTest {};

TEST_F(ErrorHistory, EachFailedAttemptIsKeptInOrderAndTheLastIsTheJobsError) {
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    const auto id = store.enqueue(job_of("t", {.max_retries = 5}));
    const std::vector<std::pair<std::string, ErrorKind>> failures = {
        {"timeout talking to smtp", ErrorKind::retryable},
        {"smtp said 451", ErrorKind::retryable},
        {"address rejected", ErrorKind::non_retryable}};
    for (std::size_t i = 0; i < failures.size(); ++i) {
        auto claimed = store.claim_ready("worker-" + std::to_string(i), 1);
        ASSERT_EQ(claimed.size(), 1u);
        store.mark_failed(claimed[0].lease(), failures[i].first, failures[i].second);
    }
    const auto stored = job(id);
    EXPECT_EQ(stored.status, JobStatus::dead_letter);
    EXPECT_EQ(stored.error_message, "address rejected");
    EXPECT_EQ(stored.error_kind, ErrorKind::non_retryable);
    ASSERT_EQ(stored.errors.size(), 3u);
    for (std::size_t i = 0; i < failures.size(); ++i) {
        const auto& error = stored.errors[i];
        EXPECT_EQ(error.attempt, static_cast<std::int32_t>(i + 1));
        EXPECT_EQ(error.worker_id, "worker-" + std::to_string(i));
        EXPECT_EQ(error.kind, failures[i].second);
        EXPECT_EQ(error.message, failures[i].first);
        // Written by the database's clock, in order.
        EXPECT_GE(error.at, stored.created_at);
        EXPECT_LE(error.at, stored.updated_at);
        if (i > 0) {
            EXPECT_GE(error.at, stored.errors[i - 1].at);
        }
    }
    // The same times as PostgreSQL holds them, to the microsecond.
    auto last_at = sql("SELECT errors->2->>'at', (extract(epoch FROM updated_at) * 1000000)::int8 FROM jobs");
    EXPECT_EQ(std::string(last_at.get(0, 0)), format_timestamp(stored.errors[2].at));
    EXPECT_EQ(stored.errors[2].at, stored.updated_at);

    // A job that never failed has none; a success leaves the history as it was.
    const auto fine = store.enqueue(job_of("t"));
    EXPECT_TRUE(job(fine).errors.empty());
    EXPECT_EQ(sql("SELECT errors IS NULL FROM jobs WHERE id = $1::uuid", {fine.to_string()}).get(0, 0), "t");
}

TEST_F(ErrorHistory, KeepsTheLastTwentyFailedAttempts) {
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    const auto id = store.enqueue(job_of("t", {.max_retries = 30}));
    for (int attempt = 1; attempt <= 25; ++attempt) {
        auto claimed = store.claim_ready("w", 1);
        ASSERT_EQ(claimed.size(), 1u) << "attempt " << attempt;
        store.mark_failed(claimed[0].lease(), "failure " + std::to_string(attempt), ErrorKind::retryable);
    }
    const auto stored = job(id);
    ASSERT_EQ(stored.errors.size(), error_history_length);
    EXPECT_EQ(stored.errors.front().attempt, 6);
    EXPECT_EQ(stored.errors.front().message, "failure 6");
    EXPECT_EQ(stored.errors.back().attempt, 25);
    EXPECT_EQ(stored.errors.back().message, "failure 25");
    EXPECT_EQ(stored.error_message, "failure 25");
}

TEST_F(ErrorHistory, ALeaseThatExpiredWhileItsJobRanIsAFailedAttempt) {
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {0ms, 0ms}});
    const auto id = store.enqueue(job_of("t", {.max_retries = 2}));
    auto claimed = store.claim_ready("lost-worker", 1);  // a store's claim has started
    ASSERT_EQ(claimed.size(), 1u);
    wait_until_lease_expires(id);
    ASSERT_EQ(store.reclaim_expired(), 1u);
    const auto stored = job(id);
    ASSERT_EQ(stored.errors.size(), 1u);
    EXPECT_EQ(stored.errors[0].attempt, 1);
    EXPECT_EQ(stored.errors[0].worker_id, "lost-worker");
    EXPECT_EQ(stored.errors[0].kind, ErrorKind::retryable);
    EXPECT_NE(stored.errors[0].message.find("lease expired: worker lost-worker did not finish attempt 1"),
              std::string::npos)
        << stored.errors[0].message;
}

TEST_F(ErrorHistory, AFailureWrittenAgainAfterACutOffIsKeptOnce) {
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    const auto id = store.enqueue(job_of("t", {.max_retries = 3}));
    auto claimed = store.claim_ready("w", 1);
    ASSERT_EQ(claimed.size(), 1u);
    store.mark_failed(claimed[0].lease(), "first write", ErrorKind::retryable);
    // The same failure again (as the dispatcher rewrites a write whose
    // answer it lost): fenced, not appended twice.
    EXPECT_THROW(store.mark_failed(claimed[0].lease(), "first write", ErrorKind::retryable), LeaseLostError);
    EXPECT_EQ(job(id).errors.size(), 1u);
}

}  // namespace
}  // namespace seesaw::test

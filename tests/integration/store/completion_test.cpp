#include <algorithm>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Complete : public StoreTest {
protected:
    ClaimedJob claim_one(PgJobStore& store, const std::string& worker) {
        auto claimed = store.claim_ready(worker, 1);
        if (claimed.size() != 1) throw std::runtime_error("expected one job to claim, got " +
                                                          std::to_string(claimed.size()));
        return claimed[0];
    }
    ClaimedJob claim_one(const std::string& worker) { return claim_one(*store_, worker); }
};

TEST_F(Complete, MarkSucceededEndsTheLease) {
    auto id = store_->enqueue(job_of("ok"));
    auto c = claim_one("w");
    store_->mark_succeeded(c.lease());
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::succeeded);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_TRUE(store_->claim_ready("w", 10).empty());
    // Twice: the second is fenced out (the job is no longer running).
    EXPECT_THROW(store_->mark_succeeded(c.lease()), LeaseLostError);
}

TEST_F(Complete, OnlyTheLeaseHolderMayComplete) {
    auto id = store_->enqueue(job_of("ok"));
    auto c = claim_one("w1");
    auto wrong_worker = c.lease();
    wrong_worker.worker_id = "w2";
    auto wrong_attempt = c.lease();
    wrong_attempt.attempt = 2;
    auto wrong_id = c.lease();
    wrong_id.id = JobId::generate();
    for (const auto& lease : {wrong_worker, wrong_attempt, wrong_id}) {
        EXPECT_THROW(store_->mark_succeeded(lease), LeaseLostError);
        EXPECT_THROW(store_->mark_failed(lease, "x", ErrorKind::retryable), LeaseLostError);
        EXPECT_THROW(store_->heartbeat(lease), LeaseLostError);
        EXPECT_FALSE(store_->release(lease));
    }
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::running);
    EXPECT_EQ(j.worker_id, "w1");
    EXPECT_EQ(j.error_message, std::nullopt);
}

TEST_F(Complete, FencedOutAfterReclaimAndDoesNotTouchTheNewOwnersRow) {
    // A 200 ms lease and no backoff: the reclaimed job is due at once.
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {0ms, 0ms}});
    auto id = store.enqueue(job_of("slow"));
    auto old_owner = claim_one(store, "old");
    wait_until_lease_expires(id);
    ASSERT_EQ(store.reclaim_expired(), 1u);

    auto new_owner = claim_one(store, "new");
    ASSERT_EQ(new_owner.id, id);
    EXPECT_EQ(new_owner.attempt, 2);  // the reclaim counted the first run
    auto before = job(id);

    auto message = error_of<LeaseLostError>([&] { store.mark_succeeded(old_owner.lease()); });
    EXPECT_NE(message.find(id.to_string()), std::string::npos) << message;
    EXPECT_NE(message.find("'old'"), std::string::npos) << message;
    EXPECT_THROW(store.mark_failed(old_owner.lease(), "late failure", ErrorKind::retryable), LeaseLostError);
    EXPECT_THROW(store.mark_failed(old_owner.lease(), "late failure", ErrorKind::non_retryable), LeaseLostError);
    EXPECT_THROW(store.heartbeat(old_owner.lease()), LeaseLostError);
    EXPECT_FALSE(store.release(old_owner.lease()));

    // The batch variants report the lost id instead of writing.
    std::vector<JobLease> leases = {old_owner.lease()};
    EXPECT_EQ(store.mark_succeeded_batch(leases), std::vector<JobId>{id});
    EXPECT_EQ(store.heartbeat_batch(leases), std::vector<JobId>{id});
    std::vector<FailureReport> failures = {{old_owner.lease(), "late", ErrorKind::non_retryable}};
    auto failed = store.mark_failed_batch(failures);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].id, id);
    EXPECT_EQ(failed[0].outcome, FailOutcome::lease_lost);

    auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::running);
    EXPECT_EQ(after.worker_id, "new");
    EXPECT_EQ(after.attempt, 2);
    EXPECT_EQ(after.lease_expires_at, before.lease_expires_at);
    EXPECT_EQ(after.updated_at, before.updated_at);
    EXPECT_EQ(after.error_message, before.error_message);

    store.mark_succeeded(new_owner.lease());
    EXPECT_EQ(job(id).status, JobStatus::succeeded);
}

TEST_F(Complete, BatchVariantsWriteTheOwnedAndReturnTheLost) {
    for (int i = 0; i < 6; ++i) store_->enqueue(job_of("b", {.max_retries = 1}));
    auto claimed = store_->claim_ready("w", 6);
    ASSERT_EQ(claimed.size(), 6u);
    auto stolen = claimed[1].lease();
    stolen.worker_id = "thief";

    std::vector<JobLease> beats = {claimed[0].lease(), stolen, claimed[2].lease()};
    EXPECT_EQ(store_->heartbeat_batch(beats), std::vector<JobId>{claimed[1].id});

    std::vector<JobLease> done = {claimed[0].lease(), stolen};
    EXPECT_EQ(store_->mark_succeeded_batch(done), std::vector<JobId>{claimed[1].id});
    EXPECT_EQ(job(claimed[0].id).status, JobStatus::succeeded);
    EXPECT_EQ(job(claimed[1].id).status, JobStatus::running);

    std::vector<FailureReport> failures = {
        {claimed[2].lease(), "retry me", ErrorKind::retryable, 10min},
        {claimed[3].lease(), "give up", ErrorKind::non_retryable},
        {stolen, "not mine", ErrorKind::retryable},
        {claimed[0].lease(), "already done", ErrorKind::retryable},
    };
    auto results = store_->mark_failed_batch(failures);
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(results[0].id, claimed[2].id);
    EXPECT_EQ(results[0].outcome, FailOutcome::retry_scheduled);
    EXPECT_EQ(results[0].next_attempt, 2);
    EXPECT_EQ(results[0].retry_in, 10min);
    EXPECT_EQ(results[1].id, claimed[3].id);
    EXPECT_EQ(results[1].outcome, FailOutcome::dead_lettered);
    EXPECT_EQ(results[2].id, claimed[1].id);
    EXPECT_EQ(results[2].outcome, FailOutcome::lease_lost);
    EXPECT_EQ(results[3].outcome, FailOutcome::lease_lost);
    EXPECT_EQ(job(claimed[0].id).status, JobStatus::succeeded);
    EXPECT_EQ(job(claimed[2].id).status, JobStatus::failed);
    EXPECT_EQ(job(claimed[3].id).status, JobStatus::dead_letter);

    EXPECT_TRUE(store_->mark_succeeded_batch({}).empty());
    EXPECT_TRUE(store_->heartbeat_batch({}).empty());
    EXPECT_TRUE(store_->mark_failed_batch({}).empty());
}

TEST_F(Complete, MaxRetriesThreeGivesExactlyFourRunsThenDeadLetter) {
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    auto id = store.enqueue(job_of("flaky", {.max_retries = 3}));
    int runs = 0;
    std::vector<FailOutcome> outcomes;
    while (true) {
        auto claimed = store.claim_ready("w", 10);
        if (claimed.empty()) break;
        ASSERT_EQ(claimed.size(), 1u);
        ++runs;
        EXPECT_EQ(claimed[0].attempt, runs);
        auto result = store.mark_failed(claimed[0].lease(), "boom " + std::to_string(runs), ErrorKind::retryable);
        outcomes.push_back(result.outcome);
        if (result.outcome == FailOutcome::retry_scheduled) {
            EXPECT_EQ(result.next_attempt, runs + 1);
        }
        ASSERT_LE(runs, 10) << "never dead-lettered";
    }
    EXPECT_EQ(runs, 4);
    EXPECT_EQ(outcomes, (std::vector<FailOutcome>{FailOutcome::retry_scheduled, FailOutcome::retry_scheduled,
                                                  FailOutcome::retry_scheduled, FailOutcome::dead_lettered}));
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 4);
    EXPECT_EQ(j.error_message, "boom 4");
    EXPECT_EQ(j.error_kind, ErrorKind::retryable);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_EQ(store.stats().dead_letter, 1);
}

TEST_F(Complete, ZeroRetriesMeansOneRun) {
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    auto id = store.enqueue(job_of("once", {.max_retries = 0}));
    auto c = claim_one(store, "w");
    EXPECT_EQ(store.mark_failed(c.lease(), "boom", ErrorKind::retryable).outcome, FailOutcome::dead_lettered);
    EXPECT_EQ(job(id).status, JobStatus::dead_letter);
    EXPECT_TRUE(store.claim_ready("w", 1).empty());
}

TEST_F(Complete, NonRetryableFailureDeadLettersAtOnce) {
    auto id = store_->enqueue(job_of("doomed", {.max_retries = 10}));
    auto c = claim_one("w");
    auto result = store_->mark_failed(c.lease(), "bad address", ErrorKind::non_retryable);
    EXPECT_EQ(result.outcome, FailOutcome::dead_lettered);
    EXPECT_EQ(result.id, id);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.error_message, "bad address");
    EXPECT_EQ(j.error_kind, ErrorKind::non_retryable);
    EXPECT_TRUE(store_->claim_ready("w", 10).empty());
}

TEST_F(Complete, FailedWaitsForItsRetryThenIsClaimableWhenDue) {
    auto id = store_->enqueue(job_of("retry", {.max_retries = 2}));
    auto c = claim_one("w");
    std::vector<FailureReport> failure = {{c.lease(), "try later", ErrorKind::retryable, 300ms}};
    auto result = store_->mark_failed_batch(failure).at(0);
    ASSERT_EQ(result.outcome, FailOutcome::retry_scheduled);
    EXPECT_EQ(result.retry_in, 300ms);

    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::failed);
    EXPECT_EQ(j.attempt, 2);
    EXPECT_EQ(j.run_at - j.updated_at, 300ms);  // run_at = now() + delay
    EXPECT_EQ(j.error_message, "try later");
    EXPECT_EQ(j.error_kind, ErrorKind::retryable);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_EQ(store_->stats().failed, 1);

    std::vector<ClaimedJob> again;
    ASSERT_TRUE(poll_until([&] {
        again = store_->claim_ready("w2", 10);
        return !again.empty();
    }));
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, id);
    EXPECT_EQ(again[0].attempt, 2);
    auto claimed_row = job(id);
    EXPECT_GE(claimed_row.updated_at, j.run_at) << "claimed before it was due";
    store_->mark_succeeded(again[0].lease());
    EXPECT_EQ(job(id).status, JobStatus::succeeded);
}

TEST_F(Complete, FailedJobIsNotClaimableBeforeItsRetryIsDue) {
    auto id = store_->enqueue(job_of("retry"));
    auto c = claim_one("w");
    std::vector<FailureReport> failure = {{c.lease(), "later", ErrorKind::retryable, 1h}};
    store_->mark_failed_batch(failure);
    EXPECT_TRUE(store_->claim_ready("w", 10).empty());
    sql("UPDATE jobs SET run_at = now() WHERE id = $1::uuid", {id.to_string()});
    EXPECT_EQ(store_->claim_ready("w", 10).size(), 1u);
}

TEST_F(Complete, BackoffDelaysGrowAndStayWithinTheCap) {
    // base 100 ms, cap 800 ms: bounds 100, 200, 400, 800, 800, 800.
    const RetryPolicy policy{100ms, 800ms};
    auto store = make_store({.retry_policy = policy});
    constexpr int jobs = 64;
    constexpr int failures = 6;
    std::vector<NewJob> batch;
    for (int i = 0; i < jobs; ++i) batch.push_back(job_of("backoff", {.max_retries = failures}));
    store.enqueue_batch(batch);

    std::vector<std::chrono::milliseconds> longest(failures + 1, 0ms);
    for (int attempt = 1; attempt <= failures; ++attempt) {
        auto claimed = store.claim_ready("w", jobs);
        ASSERT_EQ(claimed.size(), static_cast<std::size_t>(jobs)) << "attempt " << attempt;
        for (const auto& c : claimed) {
            ASSERT_EQ(c.attempt, attempt);
            auto result = store.mark_failed(c.lease(), "again", ErrorKind::retryable);
            ASSERT_EQ(result.outcome, FailOutcome::retry_scheduled);
            EXPECT_GE(result.retry_in, 0ms);
            EXPECT_LE(result.retry_in, policy.max_delay(attempt)) << "attempt " << attempt;
            EXPECT_LE(result.retry_in, policy.cap);
            longest[attempt] = std::max(longest[attempt], result.retry_in);
            // What was reported is what was written.
            auto j = job(c.id);
            EXPECT_EQ(j.run_at - j.updated_at, result.retry_in);
        }
        // Make them due without waiting out the backoff.
        sql("UPDATE jobs SET run_at = now()");
    }
    // Full jitter: each delay is uniform in [0, bound]. Across 64 jobs the
    // longest delay exceeds the previous attempt's bound while the bound
    // still doubles (odds of failing: 2^-64 per attempt).
    for (int attempt = 2; attempt <= 4; ++attempt)
        EXPECT_GT(longest[attempt], policy.max_delay(attempt - 1)) << "attempt " << attempt;
    for (int attempt = 4; attempt <= failures; ++attempt) EXPECT_LE(longest[attempt], 800ms);
}

TEST_F(Complete, HeartbeatExtendsTheLease) {
    auto store = make_store({.lease_timeout = 10min});
    auto id = store.enqueue(job_of("long"));
    auto c = claim_one(store, "w");
    auto first = *job(id).lease_expires_at;
    // A later statement: the database clock moved on.
    wait_until_db_passes("SELECT updated_at FROM jobs WHERE id = $1::uuid", {id.to_string()});
    store.heartbeat(c.lease());
    auto j = job(id);
    EXPECT_GT(*j.lease_expires_at, first);
    EXPECT_EQ(*j.lease_expires_at - j.updated_at, 10min);
    EXPECT_EQ(j.status, JobStatus::running);
    EXPECT_EQ(j.attempt, 1);
}

TEST_F(Complete, HeartbeatKeepsTheJobFromBeingReclaimed) {
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {0ms, 0ms}});
    auto beating = store.enqueue(job_of("beating"));
    auto idle = store.enqueue(job_of("idle"));
    auto claimed = store.claim_ready("w", 2);
    ASSERT_EQ(claimed.size(), 2u);
    auto lease_of = [&](const JobId& id) {
        return claimed[0].id == id ? claimed[0].lease() : claimed[1].lease();
    };
    // Extend one lease far ahead with a long-lease store on the same schema.
    auto long_store = make_store({.lease_timeout = 1h});
    long_store.heartbeat(lease_of(beating));
    wait_until_lease_expires(idle);
    EXPECT_EQ(store.reclaim_expired(), 1u);
    EXPECT_EQ(job(beating).status, JobStatus::running);
    EXPECT_EQ(job(idle).status, JobStatus::failed);
    EXPECT_NO_THROW(store.mark_succeeded(lease_of(beating)));
}

TEST_F(Complete, ReleaseHandsTheJobBackUnrun) {
    auto id = store_->enqueue(job_of("unrun", {.max_retries = 0}));
    auto c = claim_one("w");
    EXPECT_TRUE(store_->release(c.lease()));
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::pending);
    EXPECT_EQ(j.attempt, 1);  // not counted as a run
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_FALSE(store_->release(c.lease()));  // no longer held
    EXPECT_THROW(store_->mark_succeeded(c.lease()), LeaseLostError);

    auto again = claim_one("w2");
    EXPECT_EQ(again.id, id);
    EXPECT_EQ(again.attempt, 1);
    store_->mark_succeeded(again.lease());
    EXPECT_EQ(store_->stats().succeeded, 1);
}

}  // namespace
}  // namespace seesaw::test

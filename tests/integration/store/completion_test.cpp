#include <algorithm>
#include <map>
#include <set>

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

// The statements as the dispatcher sends them: one worker's leases, its id
// a scalar ($3). The store's batch methods send the same texts.
class WorkerProtocol : public ProtocolTest {
protected:
    static std::vector<detail::LeaseRef> refs_of(const std::vector<ClaimedJob>& claimed) {
        std::vector<detail::LeaseRef> refs;
        for (const auto& c : claimed) refs.push_back({c.id, c.attempt});
        return refs;
    }
    std::vector<JobId> succeed(const std::string& statement, std::vector<detail::LeaseRef> leases,
                               const std::string& worker) {
        auto ids = detail::returned_ids(send(statement, detail::lease_params(leases, worker)).get());
        std::sort(ids.begin(), ids.end());
        return ids;
    }
    std::map<JobId, detail::FailWritten> fail(const std::string& statement, std::vector<detail::FailureRef> failures,
                                              const std::string& worker) {
        std::map<JobId, detail::FailWritten> rows;
        auto result = send(statement, detail::fail_params(failures, worker));
        for (const auto& row : detail::decode_fail(result.get())) EXPECT_TRUE(rows.emplace(row.id, row).second);
        return rows;
    }
    static std::vector<JobId> sorted_ids(std::vector<JobId> ids) {
        std::sort(ids.begin(), ids.end());
        return ids;
    }
};

TEST_F(WorkerProtocol, EachStatementIsFencedByItsOneWorkerId) {
    for (int i = 0; i < 4; ++i) store_->enqueue(job_of("p", {.max_retries = 1}));
    auto claimed = store_->claim_ready("w1", 4);
    ASSERT_EQ(claimed.size(), 4u);
    const auto all = refs_of(claimed);

    // Under another worker's id, none of them writes anything.
    const auto& sql = statements();
    EXPECT_TRUE(succeed(sql.succeed, all, "w2").empty());
    EXPECT_TRUE(succeed(sql.release, all, "w2").empty());
    auto beat = all;
    EXPECT_TRUE(detail::returned_leases(send(sql.heartbeat, detail::heartbeat_params(beat, "w2", 10min)).get()).empty());
    std::vector<detail::FailureRef> failures;
    for (const auto& lease : all) failures.push_back({lease.id, lease.attempt, "x", detail::FailKind::retryable, 0ms});
    EXPECT_TRUE(fail(sql.fail, failures, "w2").empty());
    EXPECT_EQ(count("status = 'running' AND worker_id = 'w1' AND error_message IS NULL"), 4);

    // Under its holder's: the heartbeat returns (id, attempt) of each, sorted by id as sent.
    beat = all;
    auto params = detail::heartbeat_params(beat, "w1", 10min);
    EXPECT_TRUE(std::is_sorted(beat.begin(), beat.end()));
    auto extended = detail::returned_leases(send(sql.heartbeat, params).get());
    std::sort(extended.begin(), extended.end());
    EXPECT_EQ(extended, beat);
    for (const auto& c : claimed) EXPECT_EQ(*job(c.id).lease_expires_at - job(c.id).updated_at, 10min);

    EXPECT_EQ(succeed(sql.succeed, {all[0]}, "w1"), std::vector<JobId>{all[0].id});
    auto written = fail(sql.fail,
                        {{all[1].id, all[1].attempt, "retry me", detail::FailKind::retryable, 5min},
                         {all[2].id, all[2].attempt, "give up", detail::FailKind::non_retryable, -1ms}},
                        "w1");
    ASSERT_EQ(written.size(), 2u);
    EXPECT_TRUE(written.at(all[1].id).retried());
    EXPECT_EQ(written.at(all[1].id).attempt, 2);
    EXPECT_EQ(written.at(all[1].id).retry_in, 5min);
    EXPECT_FALSE(written.at(all[2].id).retried());
    EXPECT_EQ(written.at(all[2].id).attempt, 1);
    EXPECT_EQ(succeed(sql.release, {all[3]}, "w1"), std::vector<JobId>{all[3].id});

    EXPECT_EQ(job(all[0].id).status, JobStatus::succeeded);
    EXPECT_EQ(job(all[1].id).status, JobStatus::failed);
    EXPECT_EQ(job(all[1].id).run_at - job(all[1].id).updated_at, 5min);
    EXPECT_EQ(job(all[2].id).status, JobStatus::dead_letter);
    EXPECT_EQ(job(all[2].id).error_message, "give up");
    EXPECT_EQ(job(all[3].id).status, JobStatus::pending);
    EXPECT_EQ(job(all[3].id).attempt, 1);
    // Nothing is held any more: the plain statements write nothing.
    EXPECT_TRUE(succeed(sql.succeed, all, "w1").empty());
    EXPECT_TRUE(succeed(sql.release, all, "w1").empty());
    EXPECT_TRUE(fail(sql.fail, failures, "w1").empty());
    EXPECT_EQ(store_->stats(), (QueueStats{1, 0, 1, 1, 1}));
}

TEST_F(WorkerProtocol, StoreBatchesOfSeveralWorkersWriteEachWorkersLeasesAndReportTheRest) {
    for (int i = 0; i < 6; ++i) store_->enqueue(job_of("mixed", {.max_retries = 1}));
    auto a = store_->claim_ready("wa", 3);
    auto b = store_->claim_ready("wb", 3);
    ASSERT_EQ(a.size(), 3u);
    ASSERT_EQ(b.size(), 3u);
    auto stolen = a[2].lease();  // a's job under b's name
    stolen.worker_id = "wb";
    auto stale = b[2].lease();  // b's job at another attempt
    stale.attempt = 7;

    std::vector<JobLease> beats = {b[0].lease(), a[0].lease(), stolen, b[1].lease(), a[1].lease(), stale};
    EXPECT_EQ(store_->heartbeat_batch(beats), (std::vector<JobId>{a[2].id, b[2].id}));

    std::vector<JobLease> done = {b[0].lease(), stolen, a[0].lease()};
    EXPECT_EQ(store_->mark_succeeded_batch(done), std::vector<JobId>{a[2].id});
    EXPECT_EQ(job(a[0].id).status, JobStatus::succeeded);
    EXPECT_EQ(job(b[0].id).status, JobStatus::succeeded);
    EXPECT_EQ(job(a[2].id).status, JobStatus::running);
    EXPECT_EQ(job(a[2].id).worker_id, "wa");

    std::vector<FailureReport> failures = {
        {b[1].lease(), "b retries", ErrorKind::retryable, 1min},
        {stolen, "not b's", ErrorKind::retryable},
        {a[1].lease(), "a gives up", ErrorKind::non_retryable},
        {stale, "old attempt", ErrorKind::non_retryable},
    };
    auto results = store_->mark_failed_batch(failures);
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(results[0].id, b[1].id);
    EXPECT_EQ(results[0].outcome, FailOutcome::retry_scheduled);
    EXPECT_EQ(results[0].next_attempt, 2);
    EXPECT_EQ(results[0].retry_in, 1min);
    EXPECT_EQ(results[1].id, a[2].id);
    EXPECT_EQ(results[1].outcome, FailOutcome::lease_lost);
    EXPECT_EQ(results[2].id, a[1].id);
    EXPECT_EQ(results[2].outcome, FailOutcome::dead_lettered);
    EXPECT_EQ(results[3].id, b[2].id);
    EXPECT_EQ(results[3].outcome, FailOutcome::lease_lost);
    EXPECT_EQ(store_->stats(), (QueueStats{0, 2, 2, 1, 1}));
    EXPECT_EQ(count("status = 'running' AND error_message IS NULL"), 2);
}

TEST_F(WorkerProtocol, ASuccessWrittenTwiceCountsOnce) {
    auto id = store_->enqueue(job_of("once"));
    auto c = store_->claim_ready("w", 1).at(0);
    const auto& sql = statements();
    EXPECT_EQ(succeed(sql.succeed, {{id, c.attempt}}, "w"), std::vector<JobId>{id});
    const auto written = job(id);
    // The reply was lost with the connection: the dispatcher writes it again.
    wait_until_db_passes("SELECT updated_at FROM jobs WHERE id = $1::uuid", {id.to_string()});
    EXPECT_EQ(succeed(sql.succeed_again, {{id, c.attempt}}, "w"), std::vector<JobId>{id});
    EXPECT_EQ(job(id).status, JobStatus::succeeded);
    EXPECT_EQ(job(id).updated_at, written.updated_at);
    EXPECT_EQ(store_->stats(), (QueueStats{0, 0, 1, 0, 0}));
    EXPECT_EQ(counted(), store_->stats());
    // Only the replay may find it written already; another worker or attempt may not.
    EXPECT_TRUE(succeed(sql.succeed, {{id, c.attempt}}, "w").empty());
    EXPECT_TRUE(succeed(sql.succeed_again, {{id, c.attempt}}, "w2").empty());
    EXPECT_TRUE(succeed(sql.succeed_again, {{id, c.attempt + 1}}, "w").empty());

    // A replay whose first write never arrived writes it.
    auto second = store_->enqueue(job_of("once"));
    auto d = store_->claim_ready("w", 1).at(0);
    EXPECT_EQ(succeed(sql.succeed_again, {{second, d.attempt}, {id, c.attempt}}, "w"),
              sorted_ids({id, second}));
    EXPECT_EQ(job(second).status, JobStatus::succeeded);
    EXPECT_EQ(job(second).lease_expires_at, std::nullopt);
    EXPECT_EQ(store_->stats(), (QueueStats{0, 0, 2, 0, 0}));
}

TEST_F(WorkerProtocol, AFailureReplayedAfterItWasWrittenIsReportedAsWrittenNotLost) {
    auto retried = store_->enqueue(job_of("retried", {.max_retries = 3}));
    auto dead = store_->enqueue(job_of("dead", {.max_retries = 3}));
    ASSERT_EQ(store_->claim_ready("w", 2).size(), 2u);
    const std::vector<detail::FailureRef> failures = {{retried, 1, "boom", detail::FailKind::retryable, 10min},
                                                      {dead, 1, "fatal", detail::FailKind::non_retryable, 0ms}};
    const auto& sql = statements();
    auto first = fail(sql.fail, failures, "w");
    ASSERT_EQ(first.size(), 2u);
    const auto retried_row = job(retried);
    const auto dead_row = job(dead);

    // The reply was lost with the connection: the replay reports both as
    // written, as they were written, and changes nothing.
    wait_until_db_passes("SELECT max(updated_at) FROM jobs");
    auto again = fail(sql.fail_again, failures, "w");
    ASSERT_EQ(again.size(), 2u);
    EXPECT_TRUE(again.at(retried).retried());
    EXPECT_EQ(again.at(retried).attempt, 2);
    EXPECT_GT(again.at(retried).retry_in, 0ms);
    EXPECT_LE(again.at(retried).retry_in, 10min);
    EXPECT_FALSE(again.at(dead).retried());
    EXPECT_EQ(again.at(dead).attempt, 1);
    for (const auto& before : {retried_row, dead_row}) {
        auto after = job(before.id);
        EXPECT_EQ(after.status, before.status);
        EXPECT_EQ(after.attempt, before.attempt);
        EXPECT_EQ(after.run_at, before.run_at);
        EXPECT_EQ(after.updated_at, before.updated_at);
    }
    EXPECT_EQ(store_->stats(), (QueueStats{0, 0, 0, 1, 1}));
    // The plain statement finds them lost, and so does another worker's replay.
    EXPECT_TRUE(fail(sql.fail, failures, "w").empty());
    EXPECT_TRUE(fail(sql.fail_again, failures, "w2").empty());

    // A replay whose first write never arrived writes it, and reports it once.
    auto third = store_->enqueue(job_of("third", {.max_retries = 3}));
    ASSERT_EQ(store_->claim_ready("w", 1).at(0).id, third);
    auto written = fail(sql.fail_again, {{third, 1, "late", detail::FailKind::retryable, 1min}}, "w");
    ASSERT_EQ(written.size(), 1u);  // (fail() checks that no id is listed twice)
    EXPECT_TRUE(written.at(third).retried());
    EXPECT_EQ(written.at(third).attempt, 2);
    EXPECT_EQ(written.at(third).retry_in, 1min);
    EXPECT_EQ(job(third).status, JobStatus::failed);
    EXPECT_EQ(job(third).attempt, 2);
    EXPECT_EQ(job(third).error_message, "late");
}

TEST_F(WorkerProtocol, ReleaseUnknownHandsBackWhatTheWorkerDoesNotListAtTheSameAttempt) {
    for (int i = 0; i < 4; ++i) store_->enqueue(job_of("cut_off"));
    // Each ran once before: the attempt to keep is 2.
    sql("UPDATE jobs SET attempt = 2");
    // A dispatcher's claim (one job for a free worker, two held ahead of
    // workers, with tickets) whose reply the connection lost; another worker
    // holds the fourth job.
    const detail::ClaimRequest request{"w", "default", 3, nullptr, 1min, 1, 10, true};
    auto claimed = detail::decode_claim(
        send(statements().claim, detail::claim_params(request), detail::claim_null_params(request)).get());
    ASSERT_EQ(claimed.size(), 3u);
    auto other = store_->claim_ready("other", 1).at(0);
    EXPECT_EQ(count("lease_ticket IS NOT NULL"), 2);

    // The dispatcher knows of the first one only.
    const std::vector<JobId> held = {claimed[0].id};
    auto released = detail::returned_ids(
        send(statements().release_unknown, detail::release_unknown_params("w", held)).get());
    EXPECT_EQ(sorted_ids(released), sorted_ids({claimed[1].id, claimed[2].id}));
    for (const auto& id : released) {
        auto j = job(id);
        EXPECT_EQ(j.status, JobStatus::pending);
        EXPECT_EQ(j.attempt, 2);
        EXPECT_EQ(j.uncounted_attempts, 0);
        EXPECT_EQ(j.lease_expires_at, std::nullopt);
    }
    EXPECT_EQ(count("lease_ticket IS NOT NULL"), 0);
    EXPECT_EQ(job(claimed[0].id).status, JobStatus::running);
    EXPECT_EQ(job(claimed[0].id).worker_id, "w");
    EXPECT_EQ(job(other.id).status, JobStatus::running);
    EXPECT_EQ(job(other.id).worker_id, "other");
    // Again: nothing more to hand back.
    EXPECT_TRUE(detail::returned_ids(
                    send(statements().release_unknown, detail::release_unknown_params("w", held)).get())
                    .empty());
    // The next claim runs them at the attempt they were handed back at.
    auto again = store_->claim_ready("w2", 10);
    ASSERT_EQ(again.size(), 2u);
    for (const auto& c : again) EXPECT_EQ(c.attempt, 2);
}

// PgJobStoreOptions::delete_succeeded: the success deletes the row, under
// the same fence, and stats() counts what is left.
TEST_F(Complete, DeleteSucceededDeletesTheRowUnderTheSameFenceAndStatsStayRight) {
    auto store = make_store({.delete_succeeded = true});
    auto done = store.enqueue(job_of("ok"));
    auto other = store.enqueue(job_of("ok"));
    auto c = claim_one(store, "w");
    ASSERT_EQ(c.id, done);
    auto stolen = claim_one(store, "w");  // the second job, then taken by another worker
    sql("UPDATE jobs SET worker_id = 'thief' WHERE id = $1::uuid", {other.to_string()});

    store.mark_succeeded(c.lease());
    EXPECT_EQ(store.get_job(done), std::nullopt) << "the succeeded job's row is deleted";
    EXPECT_THROW(store.mark_succeeded(c.lease()), LeaseLostError) << "twice: fenced out";
    EXPECT_THROW(store.mark_succeeded(stolen.lease()), LeaseLostError) << "not this worker's any more";
    auto still = job(other);
    EXPECT_EQ(still.status, JobStatus::running) << "a fenced-out success deletes nothing";
    EXPECT_EQ(still.worker_id, "thief");

    store.compact_stats();
    auto stats = store.stats();
    EXPECT_EQ(stats.running, 1);
    EXPECT_EQ(stats.succeeded, 0);
    EXPECT_EQ(stats.total(), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM jobs").get_int64(0, 0), 1);
    // A store of the same schema that keeps succeeded jobs.
    auto kept = store_->enqueue(job_of("ok"));
    store_->mark_succeeded(claim_one("w2").lease());
    EXPECT_EQ(job(kept).status, JobStatus::succeeded);
    EXPECT_EQ(store.stats().succeeded, 1);
}

TEST_F(Complete, DeleteSucceededKeepsAUniqueJobWhoseKeyHoldsWhileSucceeded) {
    auto store = make_store({.delete_succeeded = true});
    EnqueueOptions holds;
    holds.unique_key = "once";
    holds.unique_states.succeeded = true;
    EnqueueOptions frees;
    frees.unique_key = "while-live";
    const auto kept = store.insert(job_of("t", holds));
    const auto gone = store.insert(job_of("t", frees));
    auto leases = store.claim_ready("w", 10);
    ASSERT_EQ(leases.size(), 2u);
    std::vector<JobLease> all;
    for (const auto& c : leases) all.push_back(c.lease());
    EXPECT_TRUE(store.mark_succeeded_batch(all).empty()) << "both successes are written (none lost)";
    EXPECT_EQ(job(kept.id).status, JobStatus::succeeded) << "its key stays taken while it is succeeded";
    EXPECT_EQ(store.get_job(gone.id), std::nullopt);
    EXPECT_FALSE(store.insert(job_of("t", holds)).inserted);
    EXPECT_TRUE(store.insert(job_of("t", frees)).inserted);
}

// After a lost connection the dispatcher sends succeed_again: a row its
// first try deleted (or kept, succeeded) counts as written; another
// worker's row does not.
TEST_F(Complete, DeleteSucceededWrittenAgainCountsTheRowsTheFirstTryWrote) {
    auto store = make_store({.delete_succeeded = true});
    detail::StoreSql statements(schema_, true);
    EnqueueOptions holds;
    holds.unique_key = "once";
    holds.unique_states.succeeded = true;
    store.enqueue(job_of("plain"));
    store.insert(job_of("kept", holds));
    store.enqueue(job_of("plain"));
    auto claimed = store.claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 3u);
    std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    sql("UPDATE jobs SET worker_id = 'thief' WHERE id = $1::uuid", {claimed[2].id.to_string()});
    std::string ids = "{", attempts = "{";
    for (const auto& c : claimed) {
        ids += (ids.size() > 1 ? "," : "") + c.id.to_string();
        attempts += (attempts.size() > 1 ? "," : "") + std::to_string(c.attempt);
    }
    ids += "}";
    attempts += "}";
    auto written = [&](const std::string& text) {
        std::set<std::string> out;
        auto rows = sql(text, {ids, attempts, "w"});
        for (std::size_t i = 0; i < rows.rows(); ++i) out.insert(std::string(rows.get(i, 0)));
        return out;
    };
    const std::set<std::string> ours{claimed[0].id.to_string(), claimed[1].id.to_string()};
    EXPECT_EQ(written(statements.succeed), ours);
    EXPECT_EQ(written(statements.succeed_again), ours) << "the same answer when sent again";
    EXPECT_EQ(job(claimed[2].id).status, JobStatus::running);
    EXPECT_EQ(sql("SELECT count(*) FROM jobs").get_int64(0, 0), 2) << "the kept unique job and the thief's";
}

}  // namespace
}  // namespace seesaw::test

#include <limits>
#include <thread>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Reclaim : public StoreTest {};

TEST_F(Reclaim, CountsTheAttemptAndDeadLettersWhenOutOfAttempts) {
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {0ms, 0ms}});
    auto id = store.enqueue(job_of("crashy", {.max_retries = 1}));

    auto first = store.claim_ready("w1", 1).at(0);
    wait_until_lease_expires(id);
    EXPECT_EQ(store.reclaim_expired(), 1u);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::failed);
    EXPECT_EQ(j.attempt, 2);
    ASSERT_TRUE(j.error_message.has_value());
    EXPECT_NE(j.error_message->find("lease expired"), std::string::npos) << *j.error_message;
    EXPECT_NE(j.error_message->find("w1"), std::string::npos) << *j.error_message;
    EXPECT_EQ(j.error_kind, ErrorKind::retryable);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_THROW(store.mark_succeeded(first.lease()), LeaseLostError);

    auto second = store.claim_ready("w2", 1).at(0);
    EXPECT_EQ(second.attempt, 2);
    wait_until_lease_expires(id);
    EXPECT_EQ(store.reclaim_expired(), 1u);
    j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 2);
    ASSERT_TRUE(j.error_message.has_value());
    EXPECT_NE(j.error_message->find("lease expired"), std::string::npos) << *j.error_message;
    EXPECT_NE(j.error_message->find("w2"), std::string::npos) << *j.error_message;
    EXPECT_TRUE(store.claim_ready("w3", 1).empty());
    EXPECT_EQ(store.reclaim_expired(), 0u);
    EXPECT_EQ(store.stats().dead_letter, 1);
}

TEST_F(Reclaim, ZeroRetriesDeadLettersOnTheFirstExpiry) {
    auto store = make_store({.lease_timeout = 200ms});
    auto id = store.enqueue(job_of("once", {.max_retries = 0}));
    store.claim_ready("w", 1);
    wait_until_lease_expires(id);
    EXPECT_EQ(store.reclaim_expired(), 1u);
    EXPECT_EQ(job(id).status, JobStatus::dead_letter);
}

TEST_F(Reclaim, LeavesLiveLeasesAlone) {
    auto store = make_store({.lease_timeout = 1h});
    auto id = store.enqueue(job_of("busy"));
    store.claim_ready("w", 1);
    EXPECT_EQ(store.reclaim_expired(), 0u);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::running);
    EXPECT_EQ(j.attempt, 1);
}

TEST_F(Reclaim, ReclaimedJobWaitsItsBackoff) {
    // Backoff from the store's policy: within [0, base] after the first run.
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {1h, 2h}});
    auto id = store.enqueue(job_of("crashy"));
    store.claim_ready("w", 1);
    wait_until_lease_expires(id);
    ASSERT_EQ(store.reclaim_expired(), 1u);
    auto j = job(id);
    EXPECT_GE(j.run_at - j.updated_at, 0ms);
    EXPECT_LE(j.run_at - j.updated_at, 1h);
}

TEST_F(Reclaim, ManyExpiredLeasesInOneCall) {
    auto store = make_store({.lease_timeout = 200ms, .retry_policy = {0ms, 0ms}});
    constexpr int n = 12'000;  // more than one maintenance batch
    std::vector<NewJob> jobs(n, job_of("many"));
    for (auto& j : jobs) j.id = JobId::generate();
    store.enqueue_batch(jobs);
    ASSERT_EQ(store.claim_ready("w", n).size(), static_cast<std::size_t>(n));
    wait_until_db_passes("SELECT max(lease_expires_at) FROM jobs");
    EXPECT_EQ(store.reclaim_expired(), static_cast<std::uint64_t>(n));
    EXPECT_EQ(count("status = 'failed' AND attempt = 2"), n);
    EXPECT_EQ(store.stats().failed, n);
}

class Cleanup : public StoreTest {
protected:
    // n jobs in the given state, last updated `age` ago (an SQL interval).
    std::vector<JobId> make(int n, JobStatus status, const std::string& age, const std::string& type = "") {
        std::vector<NewJob> jobs;
        for (int i = 0; i < n; ++i) jobs.push_back(job_of(type.empty() ? std::string(to_string(status)) : type));
        auto ids = store_->enqueue_batch(jobs);
        sql("UPDATE jobs SET status = $1::job_status, updated_at = now() - $2::interval,"
            " worker_id = CASE WHEN $1 = 'running' THEN 'w' END,"
            " lease_expires_at = CASE WHEN $1 = 'running' THEN now() + interval '1 hour' END"
            " WHERE id = ANY ($3::uuid[])",
            {to_string(status), age, uuid_array(ids)});
        return ids;
    }
};

TEST_F(Cleanup, DeletesOnlySucceededJobsOlderThanTheCutoff) {
    auto old_done = make(3, JobStatus::succeeded, "2 days");
    auto new_done = make(2, JobStatus::succeeded, "1 hour");
    make(1, JobStatus::dead_letter, "2 days");
    make(1, JobStatus::pending, "2 days");
    make(1, JobStatus::failed, "2 days");
    make(1, JobStatus::running, "2 days");

    auto cutoff = client_now() - 24h;
    EXPECT_EQ(store_->cleanup_succeeded(cutoff), 3u);
    for (const auto& id : old_done) EXPECT_FALSE(store_->get_job(id).has_value());
    for (const auto& id : new_done) EXPECT_TRUE(store_->get_job(id).has_value());
    EXPECT_EQ(count(), 6);
    EXPECT_EQ(store_->stats(), (QueueStats{1, 1, 2, 1, 1}));
    EXPECT_EQ(store_->cleanup_succeeded(cutoff), 0u);
}

TEST_F(Cleanup, DeletesMoreThanOneBatch) {
    make(12'000, JobStatus::succeeded, "3 days");
    EXPECT_EQ(store_->cleanup_succeeded(client_now() - 24h), 12'000u);
    EXPECT_EQ(count(), 0);
    EXPECT_EQ(store_->stats(), QueueStats{});
}

TEST_F(Cleanup, ByStateAndAge) {
    make(2, JobStatus::dead_letter, "10 days");
    make(1, JobStatus::dead_letter, "1 hour");
    make(1, JobStatus::succeeded, "10 days");
    EXPECT_EQ(store_->cleanup(JobStatus::dead_letter, std::chrono::hours(24 * 7)), 2u);
    EXPECT_EQ(store_->stats(), (QueueStats{0, 0, 1, 0, 1}));
    EXPECT_THROW(store_->cleanup(JobStatus::pending, 1h), UsageError);
    EXPECT_THROW(store_->cleanup(JobStatus::running, 1h), UsageError);
    EXPECT_THROW(store_->cleanup(JobStatus::succeeded, -1h), UsageError);
    EXPECT_EQ(count(), 2);
}

class Stats : public StoreTest {};

TEST_F(Stats, FiveCountsAfterAMixOfOperations) {
    EXPECT_EQ(store_->stats(), QueueStats{});
    auto store = make_store({.retry_policy = {1h, 1h}});
    for (int i = 0; i < 10; ++i) store.enqueue(job_of("mix", {.max_retries = 2}));
    auto claimed = store.claim_ready("w", 6);
    ASSERT_EQ(claimed.size(), 6u);
    store.mark_succeeded(claimed[0].lease());
    store.mark_succeeded(claimed[1].lease());
    std::vector<FailureReport> failures = {{claimed[2].lease(), "later", ErrorKind::retryable, 1h},
                                           {claimed[3].lease(), "never", ErrorKind::non_retryable}};
    store.mark_failed_batch(failures);
    // 4 pending, 2 running, 2 succeeded, 1 failed, 1 dead letter
    auto stats = store.stats();
    EXPECT_EQ(stats, (QueueStats{4, 2, 2, 1, 1}));
    EXPECT_EQ(stats.total(), 10);
    EXPECT_EQ(stats, counted());

    store.release(claimed[4].lease());
    EXPECT_TRUE(store.retry_dead_letter(claimed[3].id));
    EXPECT_EQ(store.stats(), (QueueStats{6, 1, 2, 1, 0}));
    EXPECT_EQ(store.stats(), counted());
}

TEST_F(Stats, ByQueue) {
    store_->enqueue(job_of("a", {.queue = "mail"}));
    store_->enqueue(job_of("a", {.queue = "mail"}));
    store_->enqueue(job_of("a", {.queue = "sms"}));
    store_->enqueue(job_of("a"));
    auto c = store_->claim_ready("w", 1, ClaimFilter{"mail"}).at(0);
    store_->mark_succeeded(c.lease());
    store_->claim_ready("w", 1, ClaimFilter{"sms"});

    auto by_queue = store_->stats_by_queue();
    ASSERT_EQ(by_queue.size(), 3u);
    EXPECT_EQ(by_queue["mail"], (QueueStats{1, 0, 1, 0, 0}));
    EXPECT_EQ(by_queue["sms"], (QueueStats{0, 1, 0, 0, 0}));
    EXPECT_EQ(by_queue["default"], (QueueStats{1, 0, 0, 0, 0}));
    EXPECT_EQ(store_->stats(), (QueueStats{2, 1, 1, 0, 0}));

    // A queue whose jobs are all gone disappears.
    sql("DELETE FROM jobs WHERE queue = 'sms'");
    EXPECT_FALSE(store_->stats_by_queue().contains("sms"));
}

TEST_F(Stats, CompactionKeepsTheCounts) {
    for (int i = 0; i < 20; ++i) store_->enqueue(job_of("c", {.queue = i % 2 ? "odd" : "even"}));
    for (int i = 0; i < 3; ++i) {
        auto claimed = store_->claim_ready("w", 2, ClaimFilter{"odd"});
        for (const auto& c : claimed) store_->mark_succeeded(c.lease());
    }
    auto before = store_->stats();
    auto before_by_queue = store_->stats_by_queue();
    auto rows_before = sql("SELECT count(*) FROM job_counts").get_int64(0, 0);
    EXPECT_GT(store_->compact_stats(), 0u);
    auto rows_after = sql("SELECT count(*) FROM job_counts").get_int64(0, 0);
    EXPECT_LT(rows_after, rows_before);
    EXPECT_LE(rows_after, 3);  // one row per (queue, status) with jobs in it
    EXPECT_EQ(store_->stats(), before);
    EXPECT_EQ(store_->stats_by_queue(), before_by_queue);
    EXPECT_EQ(store_->stats(), counted());
    // Compacting again changes nothing; counting goes on from there.
    store_->compact_stats();
    store_->enqueue(job_of("c"));
    before.pending += 1;
    EXPECT_EQ(store_->stats(), before);
    EXPECT_EQ(store_->stats(), counted());
}

TEST_F(Stats, FollowRollbacksPlainSqlDeletesAndTruncate) {
    store_->enqueue(job_of("kept"));
    {
        auto conn = connect();
        Transaction tx(conn);
        store_->enqueue_in(conn, job_of("rolled back"));
    }
    EXPECT_EQ(store_->stats(), (QueueStats{1, 0, 0, 0, 0}));
    sql("INSERT INTO jobs (job_type, payload, status) VALUES ('sql', '{}', 'dead_letter')");
    sql("UPDATE jobs SET queue = 'moved' WHERE job_type = 'kept'");
    EXPECT_EQ(store_->stats_by_queue()["moved"], (QueueStats{1, 0, 0, 0, 0}));
    EXPECT_EQ(store_->stats(), (QueueStats{1, 0, 0, 0, 1}));
    sql("DELETE FROM jobs WHERE job_type = 'sql'");
    EXPECT_EQ(store_->stats(), (QueueStats{1, 0, 0, 0, 0}));
    sql("TRUNCATE jobs");
    EXPECT_EQ(store_->stats(), QueueStats{});
    store_->enqueue(job_of("after"));
    EXPECT_EQ(store_->stats(), (QueueStats{1, 0, 0, 0, 0}));
}

TEST_F(Stats, StayRightUnderConcurrentWriters) {
    constexpr int threads = 4;
    std::vector<NewJob> jobs;
    for (int i = 0; i < 4000; ++i) jobs.push_back(job_of("busy", {.max_retries = 1}));
    store_->enqueue_batch(jobs);
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    std::vector<std::string> errors(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int round = 0; round < 40; ++round) {
                    auto claimed = store.claim_ready("w" + std::to_string(t), 20);
                    for (std::size_t i = 0; i < claimed.size(); ++i) {
                        if (i % 3 == 0)
                            store.mark_failed(claimed[i].lease(), "x", ErrorKind::retryable);
                        else if (i % 3 == 1)
                            store.mark_succeeded(claimed[i].lease());
                    }
                    store.enqueue(job_of("more"));
                    if (round % 10 == 0) store.compact_stats();
                    store.stats();
                }
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    for (auto& w : workers) w.join();
    for (const auto& e : errors) EXPECT_EQ(e, "");
    EXPECT_EQ(store_->stats(), counted());
    EXPECT_EQ(store_->stats().total(), 4000 + threads * 40);
}

class RetryDeadLetters : public StoreTest {
protected:
    JobId dead(const std::string& type, int failures = 1) {
        auto store = make_store({.retry_policy = {0ms, 0ms}});
        auto id = store.enqueue(job_of(type, {.max_retries = failures - 1}));
        for (int i = 0; i < failures; ++i) {
            auto claimed = store.claim_ready("w", 1, ClaimFilter{"default", {type}});
            if (claimed.empty()) throw std::runtime_error("nothing to claim");
            store.mark_failed(claimed[0].lease(), "boom", ErrorKind::retryable);
        }
        if (job(id).status != JobStatus::dead_letter) throw std::runtime_error("not dead-lettered");
        return id;
    }
};

TEST_F(RetryDeadLetters, OneJobGoesBackToPendingWithAttemptOne) {
    auto id = dead("dead", 4);
    EXPECT_EQ(job(id).attempt, 4);
    EXPECT_TRUE(store_->retry_dead_letter(id));
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::pending);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_LE(j.run_at, j.updated_at);  // due at once
    auto claimed = store_->claim_ready("w", 1);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, id);
    EXPECT_EQ(claimed[0].attempt, 1);
    // It gets its full retries again.
    auto store = make_store({.retry_policy = {0ms, 0ms}});
    EXPECT_EQ(store.mark_failed(claimed[0].lease(), "again", ErrorKind::retryable).outcome,
              FailOutcome::retry_scheduled);
}

TEST_F(RetryDeadLetters, OnlyDeadLetteredJobsAreRetried) {
    auto pending = store_->enqueue(job_of("pending"));
    EXPECT_FALSE(store_->retry_dead_letter(pending));
    EXPECT_FALSE(store_->retry_dead_letter(JobId::generate()));
    auto running = store_->enqueue(job_of("running"));
    store_->claim_ready("w", 1, ClaimFilter{"default", {"running"}});
    EXPECT_FALSE(store_->retry_dead_letter(running));
    EXPECT_EQ(job(running).status, JobStatus::running);
}

TEST_F(RetryDeadLetters, AllOfOneTypeOrAll) {
    auto a1 = dead("a", 2);
    auto a2 = dead("a");
    auto a3 = dead("a", 3);
    auto b1 = dead("b");
    auto b2 = dead("b", 2);
    EXPECT_EQ(store_->retry_all_dead_letters("a"), 3u);
    for (const auto& id : {a1, a2, a3}) {
        EXPECT_EQ(job(id).status, JobStatus::pending);
        EXPECT_EQ(job(id).attempt, 1);
    }
    for (const auto& id : {b1, b2}) EXPECT_EQ(job(id).status, JobStatus::dead_letter);
    EXPECT_EQ(store_->retry_all_dead_letters("none"), 0u);
    EXPECT_EQ(store_->retry_all_dead_letters(), 2u);
    EXPECT_EQ(job(b2).attempt, 1);
    EXPECT_EQ(store_->retry_all_dead_letters(), 0u);
    EXPECT_EQ(store_->stats(), (QueueStats{5, 0, 0, 0, 0}));
}

TEST_F(RetryDeadLetters, ByTypeNameFromAView) {
    dead("ab");
    dead("abc");
    const std::string buffer = "abc";
    EXPECT_EQ(store_->retry_all_dead_letters(std::string_view(buffer.data(), 2)), 1u);
    EXPECT_EQ(count("status = 'dead_letter' AND job_type = 'abc'"), 1);
}

class ListJobs : public StoreTest {};

TEST_F(ListJobs, FiltersByStateTypeAndQueue) {
    store_->enqueue(job_of("a"));
    store_->enqueue(job_of("b", {.queue = "q"}));
    store_->enqueue(job_of("a", {.queue = "q"}));
    store_->claim_ready("w", 1, ClaimFilter{"q", {"b"}});
    EXPECT_EQ(store_->list_jobs({}).size(), 3u);
    EXPECT_EQ(store_->list_jobs({.status = JobStatus::running}).size(), 1u);
    EXPECT_EQ(store_->list_jobs({.job_type = "a"}).size(), 2u);
    EXPECT_EQ(store_->list_jobs({.queue = "q"}).size(), 2u);
    EXPECT_EQ(store_->list_jobs({.status = JobStatus::pending, .job_type = "a", .queue = "q"}).size(), 1u);
    EXPECT_EQ(store_->list_jobs({.limit = 2}).size(), 2u);
    EXPECT_EQ(store_->list_jobs({.limit = std::numeric_limits<std::size_t>::max()}).size(), 3u);
}

TEST_F(RetryDeadLetters, AListOfIdsIsRetriedAllOrNothing) {
    auto a = dead("a", 3);
    auto b = dead("b");
    auto pending = store_->enqueue(job_of("pending"));
    auto unknown = JobId::generate();

    // One id that is not dead-lettered and one that does not exist: nothing
    // is retried, and the message names each.
    const std::vector<JobId> bad = {a, pending, b, unknown};
    auto message = error_of<UsageError>([&] { store_->retry_dead_letters(bad); });
    EXPECT_NE(message.find("no job with id " + unknown.to_string()), std::string::npos) << message;
    EXPECT_NE(message.find("job " + pending.to_string() + " is pending, not in the dead letter queue"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("(nothing was retried)"), std::string::npos) << message;
    EXPECT_EQ(message.find(a.to_string()), std::string::npos) << message;
    EXPECT_EQ(job(a).status, JobStatus::dead_letter);
    EXPECT_EQ(job(b).status, JobStatus::dead_letter);

    // All dead-lettered (one named twice): all retried, counted once each.
    const std::vector<JobId> good = {b, a, b};
    EXPECT_EQ(store_->retry_dead_letters(good), 2u);
    for (const auto& id : {a, b}) {
        EXPECT_EQ(job(id).status, JobStatus::pending);
        EXPECT_EQ(job(id).attempt, 1);
    }
    EXPECT_EQ(store_->retry_dead_letters({}), 0u);
    EXPECT_THROW(store_->retry_dead_letters(good), UsageError);  // pending now
    EXPECT_EQ(store_->stats(), (QueueStats{3, 0, 0, 0, 0}));
}

TEST_F(ListJobs, OldestFirstByCreationOrByLastUpdate) {
    auto a = store_->enqueue(job_of("a"));
    auto b = store_->enqueue(job_of("b"));
    auto c = store_->enqueue(job_of("c"));
    sql("UPDATE jobs SET created_at = now() - CASE job_type WHEN 'a' THEN interval '3 hours'"
        " WHEN 'b' THEN interval '2 hours' ELSE interval '1 hour' END,"
        " updated_at = now() - CASE job_type WHEN 'a' THEN interval '1 hour'"
        " WHEN 'b' THEN interval '3 hours' ELSE interval '2 hours' END");
    auto ids = [](const std::vector<Job>& jobs) {
        std::vector<JobId> out;
        for (const auto& j : jobs) out.push_back(j.id);
        return out;
    };
    EXPECT_EQ(ids(store_->list_jobs({})), (std::vector<JobId>{a, b, c}));
    EXPECT_EQ(ids(store_->list_jobs({.order_by = JobOrder::updated_at})), (std::vector<JobId>{b, c, a}));
    EXPECT_EQ(ids(store_->list_jobs({.limit = 2, .order_by = JobOrder::updated_at})), (std::vector<JobId>{b, c}));
    EXPECT_TRUE(store_->list_jobs({.status = JobStatus::dead_letter, .order_by = JobOrder::updated_at}).empty());
}

class OldestPending : public StoreTest {};

TEST_F(OldestPending, AgeOfEachQueuesLongestWaitingDueJobByTheDatabaseClock) {
    store_->enqueue(job_of("x", {.queue = "old"}));
    store_->enqueue(job_of("x", {.queue = "old"}));
    store_->enqueue(job_of("x", {.queue = "new"}));
    store_->enqueue(job_of("x", {.queue = "later", .delay = 1h}));
    store_->enqueue(job_of("x", {.queue = "running"}));
    store_->claim_ready("w", 1, ClaimFilter{"running"});
    // Due for two hours in "old"; in "new", inserted an hour after it was due: due since its insertion.
    sql("UPDATE jobs SET run_at = now() - interval '2 hours', created_at = now() - interval '3 hours'"
        " WHERE queue = 'old'");
    sql("UPDATE jobs SET run_at = now() - interval '2 hours', created_at = now() - interval '1 hour'"
        " WHERE queue = 'new'");

    auto ages = store_->oldest_pending_ages();
    ASSERT_EQ(ages.size(), 2u);  // nothing due waits in "later" or "running"
    // Each UPDATE ran at its own now(); the ages are read at a later one.
    EXPECT_GE(ages.at("old"), 2h);
    EXPECT_LT(ages.at("old"), 3h);
    EXPECT_GE(ages.at("new"), 1h);
    EXPECT_LT(ages.at("new"), 2h);
    auto one = store_->oldest_pending_ages("new");
    ASSERT_EQ(one.size(), 1u);
    EXPECT_GE(one.at("new"), 1h);
    EXPECT_TRUE(store_->oldest_pending_ages("later").empty());
}

}  // namespace
}  // namespace seesaw::test

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <unordered_map>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Claim : public StoreTest {};

TEST_F(Claim, SmallerPriorityFirstThenEarlierRunAtThenId) {
    auto now = client_now();
    auto t1 = std::chrono::time_point_cast<std::chrono::microseconds>(now - 3h);
    auto t2 = std::chrono::time_point_cast<std::chrono::microseconds>(now - 2h);
    // Two ids in a known order, enqueued larger first.
    auto low_id = JobId::generate();
    auto high_id = JobId::generate();
    ASSERT_LT(low_id, high_id);

    std::vector<NewJob> jobs = {
        job_of("p5_t1", {.priority = 5, .run_at = t1}),
        job_of("p0_t2_high", {.priority = 0, .run_at = t2}),
        job_of("p0_t1", {.priority = 0, .run_at = t1}),
        job_of("p0_t2_low", {.priority = 0, .run_at = t2}),
        job_of("pm3_t2", {.priority = -3, .run_at = t2}),
        job_of("p1_now", {.priority = 1}),
    };
    jobs[1].id = high_id;
    jobs[3].id = low_id;
    for (const auto& j : jobs) store_->enqueue(j);  // one statement each, in this order

    const std::vector<std::string> expected = {"pm3_t2", "p0_t1", "p0_t2_low", "p0_t2_high", "p1_now", "p5_t1"};
    // One at a time: the order of successive claims.
    std::vector<std::string> one_by_one;
    while (true) {
        auto claimed = store_->claim_ready("w", 1);
        if (claimed.empty()) break;
        ASSERT_EQ(claimed.size(), 1u);
        one_by_one.push_back(claimed[0].job_type);
        store_->mark_succeeded(claimed[0].lease());
    }
    EXPECT_EQ(one_by_one, expected);

    // All at once: the same order within the batch.
    sql("UPDATE jobs SET status = 'pending', lease_expires_at = NULL");
    auto batch = store_->claim_ready("w", 100);
    std::vector<std::string> in_batch;
    for (const auto& c : batch) in_batch.push_back(c.job_type);
    EXPECT_EQ(in_batch, expected);
}

TEST_F(Claim, LimitTakesTheFirstInOrder) {
    for (int p = 9; p >= 0; --p) store_->enqueue(job_of("p" + std::to_string(p), {.priority = p}));
    auto first = store_->claim_ready("w", 3);
    ASSERT_EQ(first.size(), 3u);
    EXPECT_EQ(first[0].job_type, "p0");
    EXPECT_EQ(first[1].job_type, "p1");
    EXPECT_EQ(first[2].job_type, "p2");
    EXPECT_EQ(store_->claim_ready("w", 100).size(), 7u);
    EXPECT_TRUE(store_->claim_ready("w", 100).empty());
    EXPECT_TRUE(store_->claim_ready("w", 0).empty());
}

TEST_F(Claim, AnUnlimitedLimitClaimsEverything) {
    for (int i = 0; i < 5; ++i) store_->enqueue(job_of("x"));
    auto claimed = store_->claim_ready("w", std::numeric_limits<std::size_t>::max());
    EXPECT_EQ(claimed.size(), 5u);
}

TEST_F(Claim, SetsTheLeaseByTheDatabaseClock) {
    auto store = make_store({.lease_timeout = 45s});
    auto id = store.enqueue(job_of("leased", {.priority = 4, .max_retries = 2, .version = 9}));
    auto claimed = store.claim_ready("worker-1", 10);
    ASSERT_EQ(claimed.size(), 1u);
    const auto& c = claimed[0];
    EXPECT_EQ(c.id, id);
    EXPECT_EQ(c.worker_id, "worker-1");
    EXPECT_EQ(c.attempt, 1);
    EXPECT_EQ(c.max_retries, 2);
    EXPECT_EQ(c.priority, 4);
    EXPECT_EQ(c.version, 9);
    EXPECT_EQ(c.queue, "default");
    EXPECT_EQ(c.payload, "{}");

    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::running);
    EXPECT_EQ(j.worker_id, "worker-1");
    ASSERT_TRUE(j.lease_expires_at.has_value());
    EXPECT_EQ(*j.lease_expires_at, c.lease_expires_at);
    EXPECT_EQ(*j.lease_expires_at - j.updated_at, 45s);  // now() + lease, one clock
    EXPECT_EQ(c.created_at, j.created_at);
    EXPECT_EQ(c.run_at, j.run_at);

    auto seed_store = PgJobStore::with_lease_timeout(*pool_, 300'000);
    EXPECT_EQ(seed_store.lease_timeout(), 300'000ms);
    EXPECT_EQ(PgJobStore(*pool_).lease_timeout(), 60'000ms);
}

TEST_F(Claim, WorkerIdIsExactlyWhatTheCallerPassed) {
    // A view into a longer buffer: only the view is the worker id.
    const std::string buffer = "w1-and-more";
    std::string_view worker(buffer.data(), 2);
    auto id = store_->enqueue(job_of("x"));
    auto claimed = store_->claim_ready(worker, 1);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].worker_id, "w1");
    EXPECT_EQ(job(id).worker_id, "w1");
    EXPECT_NO_THROW(store_->mark_succeeded(claimed[0].lease()));
}

TEST_F(Claim, FilteredByQueueAndByJobTypes) {
    store_->enqueue(job_of("a"));
    store_->enqueue(job_of("b"));
    store_->enqueue(job_of("a", {.queue = "mail"}));
    store_->enqueue(job_of("c", {.queue = "mail"}));
    store_->enqueue(job_of("b", {.queue = "mail"}));

    auto mail_a = store_->claim_ready("w", 10, ClaimFilter{"mail", {"a"}});
    ASSERT_EQ(mail_a.size(), 1u);
    EXPECT_EQ(mail_a[0].job_type, "a");
    EXPECT_EQ(mail_a[0].queue, "mail");

    auto mail_bc = store_->claim_ready("w", 10, ClaimFilter{"mail", {"b", "c", "zzz"}});
    ASSERT_EQ(mail_bc.size(), 2u);
    for (const auto& c : mail_bc) EXPECT_EQ(c.queue, "mail");

    EXPECT_TRUE(store_->claim_ready("w", 10, ClaimFilter{"mail", {}}).empty());
    EXPECT_TRUE(store_->claim_ready("w", 10, ClaimFilter{"nope", {}}).empty());

    auto default_b = store_->claim_ready("w", 10, ClaimFilter{"default", {"b"}});
    ASSERT_EQ(default_b.size(), 1u);
    EXPECT_EQ(default_b[0].job_type, "b");
    auto rest = store_->claim_ready("w", 10);  // default queue, any type
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].job_type, "a");
    EXPECT_EQ(rest[0].queue, "default");
}

TEST_F(Claim, FutureJobIsNotClaimedUntilDue) {
    auto later = store_->enqueue(job_of("later", {.delay = 1h}));
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() + 1h);
    store_->enqueue(job_of("at", {.run_at = at}));
    EXPECT_TRUE(store_->claim_ready("w", 10).empty());
    EXPECT_EQ(job(later).status, JobStatus::pending);

    // Due now: claimable.
    sql("UPDATE jobs SET run_at = now() - interval '1 second' WHERE id = $1::uuid", {later.to_string()});
    auto claimed = store_->claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, later);
}

TEST_F(Claim, ShortDelayBecomesClaimableWhenDueAndNotBefore) {
    auto id = store_->enqueue(job_of("soon", {.delay = 300ms}));
    std::vector<ClaimedJob> claimed;
    ASSERT_TRUE(poll_until([&] {
        claimed = store_->claim_ready("w", 10);
        return !claimed.empty();
    }));
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, id);
    // The claim happened at or after run_at by the database clock.
    auto j = job(id);
    EXPECT_GE(j.updated_at, j.run_at);
}

TEST_F(Claim, EmptyWorkerIdIsRefused) {
    store_->enqueue(job_of("x"));
    EXPECT_THROW(store_->claim_ready("", 1), UsageError);
    EXPECT_EQ(count("status = 'pending'"), 1);
}

TEST_F(Claim, ConcurrentClaimersNeverGetTheSameJob) {
    constexpr int threads = 4;
    constexpr int jobs_per_thread = 10'000;
    constexpr int total = threads * jobs_per_thread;
    std::vector<NewJob> jobs;
    jobs.reserve(total);
    for (int i = 0; i < total; ++i) jobs.push_back(job_of("race", {.priority = i % 5}));
    store_->enqueue_batch(jobs);

    std::vector<std::vector<JobId>> claimed(threads);
    std::vector<std::string> errors(threads);
    std::atomic<bool> go{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                auto worker = "w" + std::to_string(t);
                while (!go.load()) std::this_thread::yield();
                while (true) {
                    auto batch = store_->claim_ready(worker, 1 + (t * 37) % 100);
                    if (batch.empty()) break;
                    std::vector<JobLease> leases;
                    for (const auto& c : batch) {
                        claimed[t].push_back(c.id);
                        leases.push_back(c.lease());
                    }
                    auto lost = store_->mark_succeeded_batch(leases);
                    if (!lost.empty()) throw std::runtime_error("lost " + std::to_string(lost.size()) + " leases");
                }
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    go = true;
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) EXPECT_EQ(errors[t], "") << "worker " << t;

    std::unordered_map<JobId, int> times;
    for (const auto& ids : claimed)
        for (const auto& id : ids) ++times[id];
    EXPECT_EQ(times.size(), static_cast<std::size_t>(total));
    int twice = 0;
    for (const auto& [id, n] : times) twice += n > 1;
    EXPECT_EQ(twice, 0) << "jobs claimed more than once";
    for (const auto& j : jobs) EXPECT_EQ(times.count(j.id), 1u) << "never claimed: " << j.id.to_string();
    EXPECT_EQ(count("status = 'succeeded'"), total);
    EXPECT_EQ(store_->stats().succeeded, total);
}

// The claim as the dispatcher sends it: some jobs go straight to free
// workers, the others wait in memory with tickets.
class DispatcherClaim : public ProtocolTest {
protected:
    pg::ResultPtr claim(const detail::ClaimRequest& request) {
        return send(statements().claim, detail::claim_params(request), detail::claim_null_params(request));
    }
    static std::vector<std::string> types_of(const std::vector<detail::ClaimedRow>& rows) {
        std::vector<std::string> types;
        for (const auto& row : rows) types.emplace_back(row.job_type);
        return types;
    }
};

TEST_F(DispatcherClaim, DecodedInTheClaimsOrderWithTicketsAfterTheFreeWorkers) {
    // Enqueued in reverse: the rows come back in whatever order the update
    // wrote them; decode_claim puts them in the claim's.
    for (int p = 5; p >= 0; --p) store_->enqueue(job_of("p" + std::to_string(p), {.priority = p}));
    const detail::ClaimRequest request{"w", "default", 5, nullptr, 1min, 2, 100, false};
    auto result = claim(request);
    auto rows = detail::decode_claim(result.get());
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(detail::claim_found(result.get()), 5u);
    EXPECT_EQ(types_of(rows), (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        const auto order = static_cast<std::int64_t>(i + 1);
        EXPECT_EQ(row.order, order);
        if (i < 2) {
            EXPECT_EQ(row.ticket, std::nullopt) << row.job_type;
        } else {
            EXPECT_EQ(row.ticket, 100 + order) << row.job_type;
        }
        auto stored = job(row.id);
        EXPECT_EQ(stored.status, JobStatus::running);
        EXPECT_EQ(stored.worker_id, "w");
        EXPECT_EQ(stored.lease_expires_at, row.lease_expires_at);
        EXPECT_EQ(*stored.lease_expires_at - stored.updated_at, 1min);
        EXPECT_EQ(stored.run_at, row.run_at);
        EXPECT_EQ(stored.created_at, row.created_at);
        EXPECT_EQ(row.queue, "default");
        EXPECT_EQ(row.payload, "{}");
        EXPECT_EQ(row.attempt, 1);
        EXPECT_EQ(row.priority, static_cast<std::int32_t>(i));
        auto ticket = sql("SELECT lease_ticket FROM jobs WHERE id = $1::uuid", {row.id.to_string()});
        EXPECT_EQ(ticket.get_optional(0, 0), row.ticket ? std::optional(std::to_string(*row.ticket)) : std::nullopt);
    }
    // A job types literal filters; no due job left: an empty claim.
    const std::string p5 = detail::job_types_literal(std::vector<std::string>{"p5", "zzz"});
    auto last_result = claim({"w", "default", 5, &p5, 1min, 0, 200, true});  // the rows point into it
    auto last = detail::decode_claim(last_result.get());
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].job_type, "p5");
    EXPECT_EQ(last[0].ticket, 201);
    auto none = claim(request);
    EXPECT_TRUE(detail::decode_claim(none.get()).empty());
    EXPECT_EQ(detail::claim_found(none.get()), 0u);
}

TEST_F(DispatcherClaim, JobsThatLostALeaseUnstartedGoOnlyToAFreeWorker) {
    for (int p = 0; p < 5; ++p) store_->enqueue(job_of("p" + std::to_string(p), {.priority = p}));
    // p0 and p3 each lost a lease before their handler was known to start.
    sql("UPDATE jobs SET attempt = 2, uncounted_attempts = 1 WHERE job_type IN ('p0', 'p3')");

    auto result = claim({"w", "default", 5, nullptr, 1min, 2, 0, true});
    auto rows = detail::decode_claim(result.get());
    // p0 goes to a free worker; p3, beyond the free workers, is left.
    EXPECT_EQ(types_of(rows), (std::vector<std::string>{"p0", "p1", "p2", "p4"}));
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].ticket, std::nullopt);
    EXPECT_EQ(rows[0].attempt, 2);
    EXPECT_EQ(rows[1].ticket, std::nullopt);
    EXPECT_EQ(rows[2].ticket, 3);
    EXPECT_EQ(rows[3].order, 5);
    EXPECT_EQ(rows[3].ticket, 5);
    // The claim found five: it says so, and the dispatcher looks again.
    EXPECT_EQ(detail::claim_found(result.get()), 5u);
    EXPECT_EQ(count("job_type = 'p3' AND status = 'pending' AND worker_id IS NULL"), 1);

    // With no worker free, a claim that finds only such a job takes none
    // (and returns no row to count it by).
    auto busy = claim({"w", "default", 5, nullptr, 1min, 0, 10, true});
    EXPECT_TRUE(detail::decode_claim(busy.get()).empty());
    EXPECT_EQ(detail::claim_found(busy.get()), 0u);
    EXPECT_EQ(count("job_type = 'p3' AND status = 'pending'"), 1);
    // A free worker takes it.
    auto freed_result = claim({"w", "default", 5, nullptr, 1min, 1, 20, true});
    auto freed = detail::decode_claim(freed_result.get());
    ASSERT_EQ(freed.size(), 1u);
    EXPECT_EQ(freed[0].job_type, "p3");
    EXPECT_EQ(freed[0].ticket, std::nullopt);
}

// As the dispatcher claims: a first run gets a ticket even when it goes
// straight to a free worker, so a dispatcher stopped or killed before the
// start was recorded does not use up an attempt; a job that already lost a
// lease unstarted counts with the claim.
TEST_F(DispatcherClaim, TheDispatchersFirstRunsCountOnlyOnceTheirStartIsRecorded) {
    auto never_started = store_->enqueue(job_of("p0", {.priority = 0, .max_retries = 0}));
    auto lost_before = store_->enqueue(job_of("p1", {.priority = 1, .max_retries = 1}));
    sql("UPDATE jobs SET attempt = 2, uncounted_attempts = 1 WHERE id = $1::uuid", {lost_before.to_string()});

    detail::ClaimRequest request{"w", "default", 5, nullptr, 200ms, 2, 100, true};
    request.count_free_at_claim = false;
    auto result = claim(request);
    auto rows = detail::decode_claim(result.get());
    ASSERT_EQ(types_of(rows), (std::vector<std::string>{"p0", "p1"}));
    EXPECT_EQ(rows[0].ticket, 101) << "a first run, straight to a free worker, has a ticket";
    EXPECT_EQ(rows[1].ticket, std::nullopt) << "a job that lost a lease unstarted counts at its claim";

    // The dispatcher is stopped past the lease before either started (no
    // progress record): reclaim counts only the one that counts at its claim.
    wait_until_lease_expires(never_started);
    wait_until_lease_expires(lost_before);
    EXPECT_EQ(store_->reclaim_expired(), 2u);
    auto first = job(never_started);
    EXPECT_EQ(first.status, JobStatus::pending) << "max_retries 0, never started: not dead-lettered";
    EXPECT_EQ(first.attempt, 2);
    EXPECT_EQ(first.uncounted_attempts, 1);
    auto second = job(lost_before);
    EXPECT_EQ(second.status, JobStatus::failed);
    EXPECT_EQ(second.attempt, 3);
    EXPECT_EQ(second.uncounted_attempts, 1);
}

}  // namespace
}  // namespace seesaw::test

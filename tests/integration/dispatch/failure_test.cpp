// What happens to a job that does not simply succeed: retries with backoff,
// dead letters, payloads that do not decode, leases kept by heartbeats,
// per-type timeouts and leases lost while the handler runs.
#include <atomic>
#include <mutex>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class DispatcherFailureTest : public DispatchTest {};

// A handler may choose when its retry runs instead of the backoff: later
// (a rate limit's reset), or at once.
TEST_F(DispatcherFailureTest, ARetryableFailureWithItsOwnDelayIsRetriedThenNotAfterTheBackoff) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo& echo, JobContext& ctx) {
        ++runs;
        if (echo.text == "later") throw RetryableError("rate limited", 1h);
        if (ctx.attempt() == 1) throw RetryableError("try again now", 0ms);
    }, {.retry_policy = RetryPolicy{.base = 1h, .cap = 1h}});
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto later = store_->enqueue(Echo{"later"}, {.max_retries = 3});
    auto now = store_->enqueue(Echo{"now"}, {.max_retries = 3});
    // The second runs again at once (its policy's backoff is an hour) and succeeds.
    ASSERT_TRUE(log.wait_for([&](const Events& e) {
        return Events::count(e.succeeded, now) == 1 && Events::count(e.retried, later) == 1;
    }, 20s));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 3);
    // Due exactly the chosen delay after the failure was written (the database's clock).
    EXPECT_EQ(sql("SELECT run_at - updated_at = interval '1 hour' FROM jobs WHERE id = $1::uuid",
                  {later.to_string()}).get(0, 0), "t");
    auto failed = job(later);
    EXPECT_EQ(failed.status, JobStatus::failed);
    EXPECT_EQ(failed.error_message, "rate limited");
    EXPECT_EQ(job(now).errors.size(), 1u);

    EXPECT_THROW(RetryableError("negative", -1ms), UsageError);
    EXPECT_THROW(RetryableError("too far", std::chrono::hours(24 * 365 * 1001)), UsageError);
}

TEST_F(DispatcherFailureTest, RetryableFailuresAreRetriedWithBackoffThenDeadLettered) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    const RetryPolicy policy{.base = 20ms, .cap = 50ms};
    std::mutex mutex;
    std::vector<std::tuple<std::int32_t, Timestamp, Timestamp>> runs;  // attempt, started, run_at
    dispatcher.on<Echo>(
        [&](const Echo&, JobContext& ctx) {
            auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
            {
                std::lock_guard lock(mutex);
                runs.emplace_back(ctx.attempt(), now, ctx.run_at());
            }
            // Any exception but PermanentError is retryable.
            if (ctx.attempt() % 2 == 0) throw std::runtime_error("boom " + std::to_string(ctx.attempt()));
            throw RetryableError("boom " + std::to_string(ctx.attempt()));
        },
        {.retry_policy = policy});
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Echo{"flaky"}, {.max_retries = 3});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }, 20s))
        << log.snapshot().retried.size() << " retries; the job: "
        << sql("SELECT status || ' attempt ' || attempt || ', due in ' || (run_at - now()) FROM jobs").get(0, 0);
    dispatcher.stop();

    auto events = log.snapshot();
    ASSERT_EQ(events.retried.size(), 3u);
    for (std::size_t i = 0; i < events.retried.size(); ++i) {
        const auto& r = events.retried[i];
        EXPECT_EQ(r.attempt, std::int32_t(i + 1));
        EXPECT_EQ(r.text, "boom " + std::to_string(i + 1));
        EXPECT_LE(r.delay, policy.max_delay(r.attempt));
    }
    EXPECT_EQ(events.dead_lettered.front().attempt, 4);
    EXPECT_EQ(events.dead_lettered.front().text, "boom 4");
    EXPECT_TRUE(events.succeeded.empty());
    {
        std::lock_guard lock(mutex);
        ASSERT_EQ(runs.size(), 4u);  // max_retries + 1
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const auto& [attempt, started, run_at] = runs[i];
            EXPECT_EQ(attempt, std::int32_t(i + 1));
            EXPECT_GE(started, run_at) << "attempt " << attempt << " ran before its backoff ended";
        }
    }
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 4);
    EXPECT_EQ(j.error_kind, ErrorKind::retryable);
    EXPECT_EQ(j.error_message, "boom 4");
}

TEST_F(DispatcherFailureTest, APermanentErrorDeadLettersAtOnce) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo& job, JobContext&) {
        ++runs;
        throw PermanentError("cannot deliver to " + job.text);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Echo{"nowhere"}, {.max_retries = 5});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 1);
    auto events = log.snapshot();
    EXPECT_TRUE(events.retried.empty());
    EXPECT_EQ(events.dead_lettered.front().text, "cannot deliver to nowhere");
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.error_kind, ErrorKind::non_retryable);
    EXPECT_EQ(j.error_message, "cannot deliver to nowhere");
}

TEST_F(DispatcherFailureTest, APayloadThatDoesNotDecodeIsDeadLetteredNamingTypeAndField) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    std::atomic<int> runs{0};
    dispatcher.on<Work>([&](const Work&, JobContext&) { ++runs; });
    EventLog log(dispatcher.events());
    // As another language would insert it, with the field "n" missing.
    auto id = JobId::parse(
        sql("INSERT INTO jobs (job_type, payload) VALUES ('work', '{\"sleep_ms\": 1}') RETURNING id").get(0, 0));
    dispatcher.start();
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 0);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::dead_letter);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.error_kind, ErrorKind::non_retryable);
    ASSERT_TRUE(j.error_message);
    EXPECT_NE(j.error_message->find("'work'"), std::string::npos) << *j.error_message;
    EXPECT_NE(j.error_message->find("'n'"), std::string::npos) << *j.error_message;
}

TEST_F(DispatcherFailureTest, HeartbeatsKeepTheLeaseOfALongJob) {
    auto store = make_store({.lease_timeout = 300ms});
    Dispatcher dispatcher(store, {.queues = {{"default", 1}}, .heartbeat_interval = 50ms});
    std::atomic<int> runs{0};
    std::atomic<bool> started{false};
    dispatcher.on<Work>([&](const Work& job, JobContext& ctx) {
        ++runs;
        set_flag(started);
        // Five lease timeouts of work.
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(job.sleep_ms);
        while (std::chrono::steady_clock::now() < until && !ctx.cancelled()) std::this_thread::sleep_for(5ms);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store.enqueue(Work{1, 1500});
    ASSERT_TRUE(wait_flag(started));
    const auto first_lease = store.get_job(id)->lease_expires_at.value();
    // Reclaim as often as a maintenance leader could while the job runs.
    std::uint64_t reclaimed = 0;
    bool past_first_lease = false;
    for (int i = 0; !log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 50ms); ++i) {
        ASSERT_LT(i, 600) << "the job did not finish";
        reclaimed += store.reclaim_expired();
        past_first_lease = past_first_lease ||
                           sql("SELECT now() > $1::timestamptz", {format_timestamp(first_lease)}).get(0, 0) == "t";
    }
    dispatcher.stop();
    EXPECT_EQ(reclaimed, 0u);
    EXPECT_TRUE(past_first_lease);  // the job outlived the lease it was first given
    EXPECT_TRUE(log.snapshot().lease_lost.empty());
    EXPECT_EQ(runs.load(), 1);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::succeeded);
    EXPECT_EQ(j.attempt, 1);
}

TEST_F(DispatcherFailureTest, ATimedOutJobIsFailedAsRetryableAndItsLateSuccessIsNotWritten) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .heartbeat_interval = 50ms});
    std::atomic<bool> saw_cancelled{false}, saw_lease_lost{false}, returned{false};
    dispatcher.on<Work>(
        [&](const Work&, JobContext& ctx) {
            saw_cancelled = await([&] { return ctx.cancelled(); });
            saw_lease_lost = ctx.lease_lost();
            set_flag(returned);  // and succeed, too late
        },
        // A day's backoff: the retry stays waiting while the test looks.
        {.timeout = 200ms, .retry_policy = RetryPolicy{.base = 24h, .cap = 24h}});
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Work{1}, {.max_retries = 1});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.retried, id) == 1; }));
    ASSERT_TRUE(wait_flag(returned));
    dispatcher.stop();  // handles the handler's late return first

    EXPECT_TRUE(saw_cancelled.load());
    EXPECT_TRUE(saw_lease_lost.load());
    auto events = log.snapshot();
    ASSERT_EQ(events.lease_lost.size(), 1u);
    EXPECT_NE(events.lease_lost.front().text.find("timed out"), std::string::npos) << events.lease_lost.front().text;
    EXPECT_NE(events.retried.front().text.find("timed out"), std::string::npos) << events.retried.front().text;
    EXPECT_TRUE(events.succeeded.empty());
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::failed);
    EXPECT_EQ(j.attempt, 2);
    EXPECT_EQ(j.error_kind, ErrorKind::retryable);
    ASSERT_TRUE(j.error_message);
    EXPECT_NE(j.error_message->find("timed out"), std::string::npos) << *j.error_message;
}

TEST_F(DispatcherFailureTest, ATimedOutJobIsRetriedWhileItsFirstHandlerStillRuns) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .heartbeat_interval = 20ms});
    std::atomic<bool> second_done{false}, first_returned{false};
    std::atomic<int> runs{0};
    dispatcher.on<Work>(
        [&](const Work&, JobContext& ctx) {
            ++runs;
            if (ctx.attempt() == 1) {
                // Ignores its timeout until the retry has run.
                await([&] { return second_done.load(); });
                set_flag(first_returned);
                return;
            }
            set_flag(second_done);
        },
        {.timeout = 100ms, .retry_policy = RetryPolicy{.base = 1ms, .cap = 1ms}});
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Work{7}, {.max_retries = 2});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }));
    ASSERT_TRUE(wait_flag(first_returned));
    dispatcher.stop();
    auto events = log.snapshot();
    EXPECT_EQ(events.succeeded.front().attempt, 2);
    ASSERT_EQ(events.lease_lost.size(), 1u);
    EXPECT_EQ(events.lease_lost.front().attempt, 1);
    EXPECT_EQ(runs.load(), 2);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::succeeded);
    EXPECT_EQ(j.attempt, 2);
}

TEST_F(DispatcherFailureTest, ALeaseTakenOverByAnotherWorkerIsReportedAndTheLateSuccessIsNotWritten) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .heartbeat_interval = 50ms});
    std::atomic<bool> started{false}, saw_lease_lost{false}, saw_cancelled{false}, returned{false};
    dispatcher.on<Work>([&](const Work&, JobContext& ctx) {
        set_flag(started);
        saw_lease_lost = await([&] { return ctx.lease_lost(); });
        saw_cancelled = ctx.cancelled();
        set_flag(returned);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Work{1});
    ASSERT_TRUE(wait_flag(started));
    // Another worker owns the job now (as after a reclaim and a new claim).
    sql("UPDATE jobs SET worker_id = 'usurper', attempt = attempt + 1, lease_expires_at = now() + interval '1 hour'"
        " WHERE id = $1",
        {id.to_string()});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.lease_lost, id) == 1; }));
    ASSERT_TRUE(wait_flag(returned));
    dispatcher.stop();
    EXPECT_TRUE(saw_lease_lost.load());
    EXPECT_TRUE(saw_cancelled.load());
    EXPECT_TRUE(log.snapshot().succeeded.empty());
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::running);
    EXPECT_EQ(j.worker_id, "usurper");
    EXPECT_EQ(j.attempt, 2);
}

TEST_F(DispatcherFailureTest, AReclaimedJobIsReportedLostAndItsRetryRunsWhileTheLostHandlerStillRuns) {
    auto store = make_store({.lease_timeout = 1000ms, .retry_policy = RetryPolicy{.base = 10ms, .cap = 10ms}});
    Dispatcher dispatcher(store, {.queues = {{"default", 2}}, .poll_interval = 1h, .heartbeat_interval = 200ms});
    std::atomic<bool> started{false}, saw_lease_lost{false}, second_done{false}, first_returned{false};
    dispatcher.on<Work>([&](const Work&, JobContext& ctx) {
        if (ctx.attempt() > 1) {
            set_flag(second_done);
            return;
        }
        set_flag(started);
        saw_lease_lost = await([&] { return ctx.lease_lost(); });
        // Still running when the retry is claimed and run.
        await([&] { return second_done.load(); });
        set_flag(first_returned);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store.enqueue(Work{1});
    ASSERT_TRUE(wait_flag(started));
    // The lease expires (as if the heartbeats had stopped) and is reclaimed;
    // a heartbeat between the two statements extends it again, so repeat.
    // (The dispatcher's own maintenance leader may be the one to reclaim it.)
    auto first_attempt_running = [&] {
        const auto j = store.get_job(id);
        return j->status == JobStatus::running && j->attempt == 1;
    };
    for (int i = 0; i < 100 && first_attempt_running(); ++i) {
        sql("UPDATE jobs SET lease_expires_at = now() - interval '1 second'"
            " WHERE id = $1 AND status = 'running' AND attempt = 1", {id.to_string()});
        store.reclaim_expired();
    }
    ASSERT_FALSE(first_attempt_running());
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.lease_lost, id) == 1; }));
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 10s));
    ASSERT_TRUE(wait_flag(first_returned));
    dispatcher.stop();
    EXPECT_TRUE(saw_lease_lost.load());
    auto events = log.snapshot();
    EXPECT_EQ(events.lease_lost.front().attempt, 1);
    EXPECT_EQ(events.succeeded.front().attempt, 2);
    auto j = job(id);
    EXPECT_EQ(j.status, JobStatus::succeeded);
    EXPECT_EQ(j.attempt, 2);
    ASSERT_TRUE(j.error_message);
    EXPECT_TRUE(j.error_message->starts_with("lease expired")) << *j.error_message;
}

}  // namespace
}  // namespace seesaw::test

// How a dispatcher learns that there is work: NOTIFY on insert, the poll
// alone (listen = false), the timer of scheduled jobs and of retries, and the
// NOTIFY of a dead letter's manual retry. Tests that must not be served by a
// poll set it to an hour and wait far less than that.
#include <atomic>
#include <map>
#include <mutex>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class DispatcherWakeupTest : public DispatchTest {};

TEST_F(DispatcherWakeupTest, AJobEnqueuedWhileTheDispatcherIdlesRunsWithoutAPoll) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo&, JobContext&) { ++runs; });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    // Nothing but the insert's NOTIFY can make this dispatcher claim now.
    auto id = store_->enqueue(Echo{"wake up"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 10s));
    auto second = store_->enqueue(Echo{"and again"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, second) == 1; }, 10s));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 2);
    EXPECT_EQ(store_->get_job(id)->status, JobStatus::succeeded);
    EXPECT_EQ(store_->get_job(second)->status, JobStatus::succeeded);
}

TEST_F(DispatcherWakeupTest, WithListenOffPollingAloneRunsEveryJob) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 4}}, .listen = false, .poll_interval = 50ms});
    std::mutex mutex;
    std::map<std::int64_t, int> runs;
    dispatcher.on<Work>([&](const Work& job, JobContext&) {
        std::lock_guard lock(mutex);
        ++runs[job.n];
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    // In batches, some while the dispatcher idles between polls.
    constexpr int batches = 3, per_batch = 40;
    for (int b = 0; b < batches; ++b) {
        std::vector<NewJob> jobs;
        for (int i = 0; i < per_batch; ++i) jobs.push_back(JobStore::make_new_job(Work{b * per_batch + i}));
        store_->enqueue_batch(jobs);
        ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == std::size_t((b + 1) * per_batch); }));
    }
    // No LISTEN connection: the notifications reached nobody.
    auto listening = sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'seesaw-dispatcher listen'"
                         " AND query LIKE 'LISTEN %' AND query LIKE '%' || notify_channel($1, 'ready') || '%'",
                         {schema_})
                         .get_int64(0, 0);
    dispatcher.stop();
    EXPECT_EQ(listening, 0);
    std::lock_guard lock(mutex);
    ASSERT_EQ(runs.size(), std::size_t(batches * per_batch));
    for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << "job " << n;
    EXPECT_EQ(count("status = 'succeeded'"), batches * per_batch);
}

TEST_F(DispatcherWakeupTest, AScheduledJobRunsWhenDueWithoutAPoll) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::mutex mutex;
    struct Run {
        Timestamp started;
        Timestamp run_at;
    };
    std::map<std::string, Run> runs;
    dispatcher.on<Echo>([&](const Echo& job, JobContext& ctx) {
        auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
        std::lock_guard lock(mutex);
        runs[job.text] = Run{now, ctx.run_at()};
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    auto delayed = store_->enqueue(Echo{"delay"}, {.delay = 1000ms});
    auto at = store_->enqueue(
        Echo{"run_at"},
        {.run_at = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now() + 1200ms)});
    EXPECT_EQ(store_->get_job(delayed)->status, JobStatus::pending);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == 2; }, 10s));
    dispatcher.stop();

    std::lock_guard lock(mutex);
    ASSERT_EQ(runs.size(), 2u);
    for (const auto& [name, run] : runs) {
        // The database and this test read one clock: the host's.
        EXPECT_GE(run.started, run.run_at) << name << " started before its run_at";
    }
    EXPECT_EQ(runs["delay"].run_at, store_->get_job(delayed)->run_at);
    EXPECT_EQ(runs["run_at"].run_at, store_->get_job(at)->run_at);
}

TEST_F(DispatcherWakeupTest, ARetryWakesTheSameDispatcherWhenDueWithoutAPoll) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 4}}, .poll_interval = 1h});
    const RetryPolicy policy{.base = 300ms, .cap = 300ms};
    std::mutex mutex;
    std::vector<std::tuple<std::int64_t, std::int32_t, Timestamp, Timestamp>> runs;  // n, attempt, started, run_at
    dispatcher.on<Work>(
        [&](const Work& job, JobContext& ctx) {
            auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
            {
                std::lock_guard lock(mutex);
                runs.emplace_back(job.n, ctx.attempt(), now, ctx.run_at());
            }
            if (ctx.attempt() == 1) throw RetryableError("first attempts fail");
        },
        {.retry_policy = policy});
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    // Each retry is due at its own time; only the dispatcher's timers can
    // notice (a failure is an UPDATE: it notifies nobody).
    constexpr int jobs = 6;
    std::vector<NewJob> batch;
    for (int i = 0; i < jobs; ++i) batch.push_back(JobStore::make_new_job(Work{i}));
    store_->enqueue_batch(batch);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == jobs; }, 20s))
        << log.snapshot().retried.size() << " retried, " << log.snapshot().succeeded.size() << " succeeded";
    dispatcher.stop();

    auto events = log.snapshot();
    EXPECT_EQ(events.retried.size(), std::size_t(jobs));
    for (const auto& r : events.retried) {
        EXPECT_EQ(r.attempt, 1);
        EXPECT_LE(r.delay, policy.max_delay(1));
        EXPECT_EQ(r.text, "first attempts fail");
    }
    for (const auto& s : events.succeeded) EXPECT_EQ(s.attempt, 2);
    std::lock_guard lock(mutex);
    EXPECT_EQ(runs.size(), std::size_t(2 * jobs));
    for (const auto& [n, attempt, started, run_at] : runs)
        EXPECT_GE(started, run_at) << "job " << n << " attempt " << attempt << " started before its run_at";
    EXPECT_EQ(count("status = 'succeeded' AND attempt = 2"), jobs);
}

TEST_F(DispatcherWakeupTest, RetryingADeadLetterWakesAnIdleDispatcher) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo&, JobContext&) {
        if (++runs == 1) throw PermanentError("not this time");
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    auto id = store_->enqueue(Echo{"second chance"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }, 10s));
    EXPECT_EQ(store_->get_job(id)->status, JobStatus::dead_letter);
    ASSERT_TRUE(store_->retry_dead_letter(id));
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 10s));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 2);
    auto job = store_->get_job(id);
    EXPECT_EQ(job->status, JobStatus::succeeded);
    EXPECT_EQ(job->attempt, 1);
}

}  // namespace
}  // namespace seesaw::test

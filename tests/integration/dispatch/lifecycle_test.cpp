// Registration, graceful stop, queues, job types nobody here handles,
// follow-up jobs and the seed's with_job_queue shape.
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class DispatcherLifecycleTest : public DispatchTest {};

TEST_F(DispatcherLifecycleTest, RegistrationMistakesAreUsageErrors) {
    Dispatcher dispatcher(*store_);
    EXPECT_THROW(dispatcher.start(), UsageError);  // no handlers
    dispatcher.on<Echo>([](const Echo&, JobContext&) {});
    EXPECT_THROW(dispatcher.on<Echo>([](const Echo&, JobContext&) {}), UsageError);
    EXPECT_THROW(dispatcher.on_raw("echo", [](std::string_view, JobContext&) {}), UsageError);
    dispatcher.start();
    EXPECT_TRUE(dispatcher.running());
    EXPECT_THROW(dispatcher.on<Work>([](const Work&, JobContext&) {}), UsageError);
    EXPECT_THROW(dispatcher.start(), UsageError);
    dispatcher.stop();
    EXPECT_FALSE(dispatcher.running());

    EXPECT_THROW(Dispatcher(*store_, {.queues = {}}), UsageError);
    EXPECT_THROW(Dispatcher(*store_, {.queues = {{"default", 1}, {"default", 2}}}), UsageError);
    EXPECT_THROW(Dispatcher(*store_, {.queues = {{"default", 0}}}), UsageError);
}

TEST_F(DispatcherLifecycleTest, StopFinishesRunningJobsAndHandsWaitingOnesBack) {
    // Two threads, four jobs claimed ahead of them.
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2, 4}}});
    std::atomic<int> runs{0};
    dispatcher.on<Work>([&](const Work& job, JobContext&) {
        ++runs;
        std::this_thread::sleep_for(std::chrono::milliseconds(job.sleep_ms));
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    std::vector<NewJob> jobs;
    for (int i = 0; i < 6; ++i) jobs.push_back(JobStore::make_new_job(Work{i, 500}));
    store_->enqueue_batch(jobs);
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.started.size() == 2 && e.claimed.size() == 6; }));
    dispatcher.stop();

    EXPECT_FALSE(dispatcher.running());
    EXPECT_EQ(count("status = 'running'"), 0);
    EXPECT_EQ(count("status = 'succeeded'"), 2);
    EXPECT_EQ(count("status = 'pending' AND attempt = 1 AND lease_expires_at IS NULL"), 4);
    EXPECT_EQ(runs.load(), 2);
    auto events = log.snapshot();
    EXPECT_EQ(events.succeeded.size(), 2u);
    ASSERT_EQ(events.stopped.size(), 1u);
    EXPECT_EQ(events.stopped.front(), 4u);

    dispatcher.stop();  // a no-op
    EXPECT_EQ(log.snapshot().stopped.size(), 1u);

    // The jobs handed back run elsewhere.
    Dispatcher next(*store_, {.queues = {{"default", 4}}});
    next.on<Work>([](const Work&, JobContext&) {});
    EventLog next_log(next.events());
    next.start();
    ASSERT_TRUE(next_log.wait_for([](const Events& e) { return e.succeeded.size() == 4; }));
    next.stop();
    EXPECT_EQ(count("status = 'succeeded'"), 6);
}

TEST_F(DispatcherLifecycleTest, AHandlerStillRunningAfterTheGraceIsCancelledAndItsJobFailedAsRetryable) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}});
    std::atomic<bool> started{false}, saw_cancelled{false};
    dispatcher.on<Work>([&](const Work&, JobContext& ctx) {
        set_flag(started);
        auto until = std::chrono::steady_clock::now() + 10s;
        while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
        saw_cancelled = ctx.cancelled();
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    auto id = store_->enqueue(Work{1});
    ASSERT_TRUE(wait_flag(started));
    dispatcher.stop(100ms);

    EXPECT_TRUE(saw_cancelled.load());
    EXPECT_EQ(count("status = 'running'"), 0);
    auto job = store_->get_job(id);
    EXPECT_EQ(job->status, JobStatus::failed);
    EXPECT_EQ(job->attempt, 2);
    EXPECT_EQ(job->error_kind, ErrorKind::retryable);
    ASSERT_TRUE(job->error_message);
    EXPECT_NE(job->error_message->find("grace"), std::string::npos) << *job->error_message;
    auto events = log.snapshot();
    EXPECT_EQ(Events::count(events.retried, id), 1u);
    EXPECT_TRUE(events.succeeded.empty());
}

TEST_F(DispatcherLifecycleTest, AStopRightAfterANotificationLeavesNoJobRunning) {
    // The claim a notification starts may still be in flight when stop()
    // begins; whatever it claimed must be handed back, not left running.
    for (int round = 0; round < 10; ++round) {
        Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
        dispatcher.on<Echo>([](const Echo&, JobContext&) {});
        EventLog log(dispatcher.events());
        dispatcher.start();
        ASSERT_TRUE(wait_until_listening(log, notify_ready()));
        store_->enqueue(Echo{"round " + std::to_string(round)});
        dispatcher.stop();
        ASSERT_EQ(count("status = 'running'"), 0) << "round " << round;
    }
    EXPECT_EQ(count("status IN ('pending', 'succeeded')"), 10);
}

TEST_F(DispatcherLifecycleTest, JobTypesWithoutAHandlerAreLeftForADispatcherThatHandlesThem) {
    auto unknown = JobId::parse(
        sql("INSERT INTO jobs (job_type, payload) VALUES ('resize_image', '{\"path\": \"a.png\"}') RETURNING id")
            .get(0, 0));
    auto before = store_->get_job(unknown);
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    dispatcher.on<Echo>([](const Echo&, JobContext&) {});
    EventLog log(dispatcher.events());
    dispatcher.start();
    std::vector<NewJob> jobs;
    for (int i = 0; i < 20; ++i) jobs.push_back(JobStore::make_new_job(Echo{std::to_string(i)}));
    store_->enqueue_batch(jobs);
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() == 20; }));
    dispatcher.stop();
    auto after = store_->get_job(unknown);
    EXPECT_EQ(after->status, JobStatus::pending);
    EXPECT_EQ(after->attempt, 1);
    EXPECT_FALSE(after->worker_id);
    EXPECT_EQ(after->updated_at, before->updated_at);
    for (const auto& e : log.snapshot().claimed) EXPECT_EQ(e.job_type, "echo");

    Dispatcher resizer(*store_, {.queues = {{"default", 1}}});
    std::string seen;
    resizer.on_raw("resize_image", [&](std::string_view payload, JobContext& ctx) {
        EXPECT_EQ(ctx.job_type(), "resize_image");
        seen = std::string(payload);
    });
    EventLog resizer_log(resizer.events());
    resizer.start();
    ASSERT_TRUE(resizer_log.wait_for([&](const Events& e) { return Events::count(e.succeeded, unknown) == 1; }));
    resizer.stop();
    EXPECT_NE(seen.find("a.png"), std::string::npos) << seen;
    EXPECT_EQ(store_->get_job(unknown)->status, JobStatus::succeeded);
}

TEST_F(DispatcherLifecycleTest, EachJobRunsOnlyWhereItsQueueIsServed) {
    struct Run {
        std::string queue;  // the queue whose thread ran it
        std::string worker;
    };
    std::mutex mutex;
    std::map<std::string, std::vector<Run>> runs;  // by text = "<queue> <i>"
    auto handler = [&](const Echo& job, JobContext& ctx) {
        std::lock_guard lock(mutex);
        runs[job.text].push_back(Run{std::string(ctx.queue()), ctx.worker_id()});
    };
    Dispatcher mail_and_default(*store_, {.queues = {{"default", 2}, {"mail", 1}}, .worker_id = "main"});
    Dispatcher reports(*store_, {.queues = {{"reports", 1}}, .worker_id = "reports"});
    mail_and_default.on<Echo>(handler);
    reports.on<Echo>(handler);
    EventLog main_log(mail_and_default.events()), reports_log(reports.events());
    mail_and_default.start();
    reports.start();

    std::vector<NewJob> jobs;
    const std::map<std::string, int> per_queue = {{"default", 30}, {"mail", 20}, {"reports", 10}, {"nobody", 5}};
    for (const auto& [queue, n] : per_queue)
        for (int i = 0; i < n; ++i) jobs.push_back(JobStore::make_new_job(Echo{queue + " " + std::to_string(i)}, {.queue = queue}));
    store_->enqueue_batch(jobs);
    ASSERT_TRUE(main_log.wait_for([](const Events& e) { return e.succeeded.size() == 50; }));
    ASSERT_TRUE(reports_log.wait_for([](const Events& e) { return e.succeeded.size() == 10; }));
    mail_and_default.stop();
    reports.stop();

    std::lock_guard lock(mutex);
    EXPECT_EQ(runs.size(), 60u);
    for (const auto& [text, list] : runs) {
        ASSERT_EQ(list.size(), 1u) << text;
        auto queue = text.substr(0, text.find(' '));
        EXPECT_EQ(list.front().queue, queue) << text;
        EXPECT_EQ(list.front().worker, queue == "reports" ? "reports" : "main") << text;
    }
    EXPECT_EQ(count("queue = 'nobody' AND status = 'pending'"), 5);
    EXPECT_EQ(count("status = 'succeeded'"), 60);
}

TEST_F(DispatcherLifecycleTest, HandlersEnqueueFollowUpJobsThatRun) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    std::mutex mutex;
    std::set<std::int64_t> seen;
    dispatcher.on<Work>([&](const Work& job, JobContext& ctx) {
        {
            std::lock_guard lock(mutex);
            seen.insert(job.n);
        }
        if (job.n > 0) ctx.store().enqueue(Work{job.n - 1});
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    store_->enqueue(Work{5});
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() == 6; }));
    dispatcher.stop();
    std::lock_guard lock(mutex);
    EXPECT_EQ(seen, (std::set<std::int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(count("status = 'succeeded'"), 6);
}

struct Mailer {
    std::atomic<int> sent{0};
};

TEST_F(DispatcherLifecycleTest, WithJobQueueGivesHandlersTheDependenciesAndSharesTheBus) {
    auto deps = std::make_shared<Mailer>();
    auto bus = std::make_shared<EventBus>();
    auto store = std::make_shared<PgJobStore>(make_store());
    auto dispatcher = Dispatcher::with_job_queue(deps, bus, store, {.queues = {{"default", 2}}});
    EXPECT_EQ(&dispatcher.events(), bus.get());
    EXPECT_EQ(&dispatcher.store(), store.get());
    std::atomic<bool> wrong_type_refused{false};
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx) {
        ctx.deps<Mailer>().sent++;
        try {
            ctx.deps<std::string>();
        } catch (const UsageError&) {
            wrong_type_refused = true;
        }
    });
    EventLog log(*bus);
    dispatcher.start();
    store->enqueue(Echo{"a"});
    store->enqueue(Echo{"b"});
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() == 2; }));
    dispatcher.stop();
    EXPECT_EQ(deps->sent.load(), 2);
    EXPECT_TRUE(wrong_type_refused.load());

    // Without dependencies, deps<T>() refuses too.
    Dispatcher plain(*store_, {.queues = {{"default", 1}}});
    std::atomic<bool> refused{false};
    plain.on<Echo>([&](const Echo&, JobContext& ctx) {
        try {
            ctx.deps<Mailer>();
        } catch (const UsageError&) {
            refused = true;
        }
    });
    EventLog plain_log(plain.events());
    plain.start();
    store_->enqueue(Echo{"c"});
    ASSERT_TRUE(plain_log.wait_for([](const Events& e) { return e.succeeded.size() == 1; }));
    plain.stop();
    EXPECT_TRUE(refused.load());
}

// Queue names and job types up to the limits work end to end, woken by
// NOTIFY (whose payload carries the queue name); longer ones are refused
// where they enter, naming the limit.
TEST_F(DispatcherLifecycleTest, NamesAtTheLimitsRunAndLongerOnesAreRefused) {
    const std::string queue(max_queue_name_bytes, 'q');
    const std::string type(max_job_type_bytes, 't');
    auto message = error_of<UsageError>([&] { Dispatcher(*store_, {.queues = {{queue + "q", 1}}}); });
    EXPECT_NE(message.find("at most 128"), std::string::npos) << message;
    {
        Dispatcher refused(*store_);
        message = error_of<UsageError>([&] { refused.on_raw(type + "t", [](std::string_view, JobContext&) {}); });
        EXPECT_NE(message.find("at most 255"), std::string::npos) << message;
    }

    Dispatcher dispatcher(*store_, {.queues = {{queue, 1}}, .poll_interval = std::chrono::hours(1)});
    dispatcher.on_raw(type, [](std::string_view, JobContext&) {});
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready(queue)));
    auto id = store_->enqueue(NewJob{type, "{}", {.queue = queue}});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }));
    dispatcher.stop();
}

}  // namespace
}  // namespace seesaw::test

// Job control as a dispatcher meets it: a running job cancelled from another
// connection (its handler told by a notification, its result not written),
// a handler that cancels or snoozes its own job, the snooze limit, paused
// queues (prefetched jobs handed back, other queues served), and a job
// type's defaults from its JobTraits.
#include <atomic>
#include <mutex>
#include <set>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {

// A job type that declares every default JobTraits may give.
struct Report {
    std::string account;
    bool hang = false;  // wait until the dispatcher says the job is cancelled
};

}  // namespace seesaw::test

template <>
struct seesaw::JobTraits<seesaw::test::Report> {
    static constexpr std::string_view name = "report";
    static constexpr std::string_view queue = "reports";
    static constexpr std::int32_t priority = 7;
    static constexpr std::int32_t max_retries = 0;
    static std::string unique_key(const seesaw::test::Report& job) { return "account:" + job.account; }
    static constexpr std::chrono::milliseconds unique_for{3'600'000};
    static constexpr std::chrono::milliseconds timeout{300};
    static constexpr std::int32_t max_snoozes = 1;
    static void encode(const seesaw::test::Report& job, PayloadWriter& out) {
        out.field("account", job.account).field("hang", job.hang);
    }
    static seesaw::test::Report decode(const PayloadReader& in) {
        return {in.string("account"), in.optional_boolean("hang").value_or(false)};
    }
};

namespace seesaw::test {
namespace {

class JobControlDispatch : public DispatchTest {
protected:
    static std::uint64_t total(const MetricsSnapshot& metrics, std::uint64_t JobTypeMetrics::*counter) {
        std::uint64_t sum = 0;
        for (const auto& t : metrics.job_types) sum += t.*counter;
        return sum;
    }
    static EnqueueOptions retries(std::int32_t n) {
        EnqueueOptions options;
        options.max_retries = n;
        return options;
    }
};

// The cancel comes from another connection, as from another process or
// `seesaw jobs cancel`; heartbeats and polls are an hour apart, so only the
// notification can tell the dispatcher.
TEST_F(JobControlDispatch, ARunningJobCancelledElsewhereSeesItAndWhatItDoesNextIsNotWritten) {
    SEESAW_SKIP_WHEN_POLL_ONLY("a cancel reaches a running handler by NOTIFY, else at the next heartbeat, which this "
                               "test puts off for an hour");
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h, .reclaim_interval = 1h,
                                    .heartbeat_interval = 1h});
    std::atomic<int> started{0};
    std::atomic<int> saw_cancel{0};
    dispatcher.on<Echo>([&](const Echo& echo, JobContext& ctx) {
        ++started;
        if (!await([&] { return ctx.cancelled(); })) return;
        ++saw_cancel;
        if (echo.text == "throws") throw RetryableError("after the cancel");
        // "returns": a normal return, which would be a success.
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    // The jobs may start by the in-process fast path before the LISTEN
    // connection is up, and the cancel's NOTIFY must find it listening.
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));
    const auto returns = store_->enqueue(Echo{"returns"}, retries(3));
    const auto throws = store_->enqueue(Echo{"throws"}, retries(3));
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.started.size() == 2; }));

    auto other = make_store();
    const std::vector<JobId> both = {returns, throws};
    const auto results = other.cancel(both);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].cancelled);
    EXPECT_EQ(results[0].previous, JobStatus::running);
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.cancelled.size() == 2; }))
        << saw_cancel.load() << " handlers saw the cancel";
    dispatcher.stop();

    EXPECT_EQ(saw_cancel.load(), 2);
    EXPECT_EQ(started.load(), 2) << "not run again";
    const auto events = log.snapshot();
    EXPECT_TRUE(events.succeeded.empty());
    EXPECT_TRUE(events.retried.empty());
    EXPECT_TRUE(events.lease_lost.empty()) << "a cancel is reported as a cancel";
    for (const auto& id : both) {
        EXPECT_EQ(Events::count(events.cancelled, id), 1u);
        const auto row = job(id);
        EXPECT_EQ(row.status, JobStatus::cancelled);
        EXPECT_EQ(row.attempt, 1);
    }
    EXPECT_EQ(total(dispatcher.metrics(), &JobTypeMetrics::cancelled), 2u);
}

TEST_F(JobControlDispatch, AHandlerCancelsItsOwnJobWhichIsNeverRetried) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo&, JobContext&) {
        ++runs;
        throw CancelJob("the account was closed");
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto id = store_->enqueue(Echo{"x"}, retries(5));
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.cancelled, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 1);
    const auto row = job(id);
    EXPECT_EQ(row.status, JobStatus::cancelled);
    EXPECT_EQ(row.error_message, "the account was closed");
    EXPECT_EQ(log.snapshot().cancelled.front().text, "the account was closed");
    EXPECT_TRUE(log.snapshot().retried.empty());
    EXPECT_EQ(store_->stats().cancelled, 1);
}

TEST_F(JobControlDispatch, ASnoozeRunsTheJobAgainWithoutUsingAnAttempt) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    dispatcher.on<Echo>([&](const Echo& echo, JobContext& ctx) {
        if (echo.text == "later") ctx.snooze(1h);
        if (ctx.snoozes() < 3) throw Snooze(0ms);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    // No retries at all: only snoozes let it run four times.
    const auto id = store_->enqueue(Echo{"soon"}, retries(0));
    const auto later = store_->enqueue(Echo{"later"}, retries(0));
    ASSERT_TRUE(log.wait_for([&](const Events& e) {
        return Events::count(e.succeeded, id) == 1 && Events::count(e.snoozed, later) == 1;
    }));
    dispatcher.stop();
    const auto row = job(id);
    EXPECT_EQ(row.status, JobStatus::succeeded);
    EXPECT_EQ(row.snoozes, 3);
    EXPECT_EQ(row.attempt, 4);
    EXPECT_TRUE(row.errors.empty()) << "a snooze is not an error";
    EXPECT_EQ(Events::count(log.snapshot().snoozed, id), 3u);

    const auto waiting = job(later);
    EXPECT_EQ(waiting.status, JobStatus::pending);
    EXPECT_EQ(waiting.snoozes, 1);
    EXPECT_EQ(waiting.error_message, std::nullopt);
    EXPECT_EQ(sql("SELECT run_at - updated_at = interval '1 hour' FROM jobs WHERE id = $1::uuid",
                  {later.to_string()}).get(0, 0), "t");
    EXPECT_EQ(total(dispatcher.metrics(), &JobTypeMetrics::snoozed), 4u);
    EXPECT_THROW(Snooze(-1ms), UsageError);
}

TEST_F(JobControlDispatch, PastItsTypesLimitASnoozeIsAFailedAttempt) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    dispatcher.on<Echo>([](const Echo&, JobContext&) { throw Snooze(0ms); }, {.max_snoozes = 2});
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto id = store_->enqueue(Echo{"forever"}, retries(1));
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }));
    dispatcher.stop();
    const auto events = log.snapshot();
    // Two snoozes, then every snooze fails an attempt: one retry, then the
    // dead letter queue.
    EXPECT_EQ(Events::count(events.snoozed, id), 2u);
    ASSERT_EQ(Events::count(events.retried, id), 1u);
    EXPECT_NE(events.retried.front().text.find("snoozed again after 2 snooze(s), the limit (max_snoozes 2)"), std::string::npos) << events.retried.front().text;
    EXPECT_NE(events.retried.front().text.find("'echo'"), std::string::npos) << events.retried.front().text;
    const auto row = job(id);
    EXPECT_EQ(row.status, JobStatus::dead_letter);
    EXPECT_EQ(row.snoozes, 2);
    EXPECT_EQ(row.errors.size(), 2u);

    EXPECT_THROW(dispatcher.on<Work>([](const Work&, JobContext&) {}, {.max_snoozes = -1}), UsageError);
}

// A paused queue's jobs that a dispatcher holds but has not started go back
// at once; its other queues keep running; resuming runs the held jobs.
TEST_F(JobControlDispatch, PausingAQueueHandsBackItsUnstartedJobsAndLeavesOtherQueuesRunning) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1, 4}, {"other", 1}}, .poll_interval = 1h});
    std::atomic<bool> release{false};
    std::mutex mutex;
    std::vector<JobId> ran;
    dispatcher.on<Work>([&](const Work& work, JobContext& ctx) {
        {
            std::lock_guard lock(mutex);
            ran.push_back(ctx.id());
        }
        if (work.n == 0) await([&] { return release.load(); });
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto blocker = store_->enqueue(Work{0});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.started, blocker) == 1; }));
    std::vector<JobId> held;
    for (int i = 1; i <= 4; ++i) held.push_back(store_->enqueue(Work{i}));
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.claimed.size() == 5; })) << "four wait in memory";

    ASSERT_TRUE(make_store().pause_queue("default"));
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.pause_changes.size() == 1; }));
    EXPECT_EQ(log.snapshot().pause_changes.front(), (std::pair<std::string, bool>{"default", true}));
    ASSERT_TRUE(poll_until([&] { return count("status = 'pending' AND lease_expires_at IS NULL") == 4; }))
        << "the held jobs were not handed back";
    release = true;
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, blocker) == 1; }));
    // The other queue runs meanwhile, in the same dispatcher.
    EnqueueOptions other;
    other.queue = "other";
    const auto marker = store_->enqueue(Work{99}, other);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, marker) == 1; }));
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(ran, (std::vector<JobId>{blocker, marker})) << "a paused queue's job ran";
    }

    ASSERT_TRUE(store_->resume_queue("default"));
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() == 6; }));
    dispatcher.stop();
    EXPECT_EQ(count("status = 'succeeded'"), 6);
    std::lock_guard lock(mutex);
    EXPECT_EQ(std::set<JobId>(ran.begin(), ran.end()).size(), ran.size()) << "each ran once";
}

TEST_F(JobControlDispatch, AJobTypesTraitsGiveItsDefaultsAndOptionsOverrideThem) {
    const auto id = store_->enqueue(Report{"a"});
    auto row = job(id);
    EXPECT_EQ(row.queue, "reports");
    EXPECT_EQ(row.priority, 7);
    EXPECT_EQ(row.max_retries, 0);
    EXPECT_EQ(row.unique_key, "account:a");
    EXPECT_TRUE(row.unique_bucket.has_value()) << "unique_for gives a time bucket";
    // The same account within the hour is the same job.
    EXPECT_EQ(store_->enqueue(Report{"a"}), id);

    EnqueueOptions options;
    options.queue = "urgent";
    options.priority = 1;
    options.max_retries = 4;
    options.unique_key = "manual";
    const auto overridden = store_->enqueue(Report{"a"}, options);
    EXPECT_NE(overridden, id);
    row = job(overridden);
    EXPECT_EQ(row.queue, "urgent");
    EXPECT_EQ(row.priority, 1);
    EXPECT_EQ(row.max_retries, 4);
    EXPECT_EQ(row.unique_key, "manual");
    // A value equal to the seed's default is still an override.
    EnqueueOptions seed_defaults;
    seed_defaults.queue = "default";
    seed_defaults.priority = 0;
    seed_defaults.max_retries = 3;
    row = job(store_->enqueue(Report{"b"}, seed_defaults));
    EXPECT_EQ(row.queue, "default");
    EXPECT_EQ(row.priority, 0);
    EXPECT_EQ(row.max_retries, 3);
}

// The handler's timeout and snooze limit come from the traits too.
TEST_F(JobControlDispatch, AJobTypesTraitsGiveItsHandlerATimeoutAndASnoozeLimit) {
    // Timeouts are enforced at each heartbeat.
    Dispatcher dispatcher(*store_, {.queues = {{"reports", 2}}, .poll_interval = 1h, .heartbeat_interval = 50ms});
    std::atomic<int> timed_out{0};
    dispatcher.on<Report>([&](const Report& report, JobContext& ctx) {
        if (report.hang) {
            if (await([&] { return ctx.cancelled(); })) ++timed_out;
            return;
        }
        ctx.snooze(0ms);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto hangs = store_->enqueue(Report{"hang", true});
    const auto snoozes = store_->enqueue(Report{"snooze"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) {
        return Events::count(e.dead_lettered, hangs) == 1 && Events::count(e.dead_lettered, snoozes) == 1;
    }));
    dispatcher.stop();
    EXPECT_EQ(timed_out.load(), 1);
    EXPECT_NE(job(hangs).error_message->find("timed out"), std::string::npos) << *job(hangs).error_message;
    EXPECT_EQ(job(snoozes).snoozes, 1) << "max_snoozes = 1";
    EXPECT_NE(job(snoozes).error_message->find("snoozed again after 1 snooze(s), the limit (max_snoozes 1) for job type 'report'"), std::string::npos) << *job(snoozes).error_message;
}

}  // namespace
}  // namespace seesaw::test

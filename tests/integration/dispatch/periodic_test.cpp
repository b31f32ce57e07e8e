// Periodic jobs and retention, as a dispatcher runs them on a real
// PostgreSQL: one job per slot whatever the number of dispatchers, the
// latest missed slot once after downtime, the schedules table, bad
// schedules refused, and finished jobs deleted by age per state.
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class PeriodicTest : public DispatchTest {
protected:
    // The slots of the jobs of schedule `name`, from their unique keys, in order.
    std::vector<std::string> slots_of(const std::string& name) {
        auto rows = sql("SELECT substr(unique_key, length($1) + 11) FROM jobs"
                        " WHERE unique_key LIKE 'periodic:' || $1 || ':%' ORDER BY 1",
                        {name});
        std::vector<std::string> out;
        for (std::size_t i = 0; i < rows.rows(); ++i) out.emplace_back(rows.get(i, 0));
        return out;
    }
    // Seconds between consecutive slots (from their text, via the database).
    std::vector<double> gaps_of(const std::string& name) {
        auto rows = sql("SELECT extract(epoch FROM s - lag(s) OVER (ORDER BY s))::float8 FROM ("
                        " SELECT substr(unique_key, length($1) + 11)::timestamptz AS s FROM jobs"
                        " WHERE unique_key LIKE 'periodic:' || $1 || ':%') AS t ORDER BY s OFFSET 1",
                        {name});
        std::vector<double> out;
        for (std::size_t i = 0; i < rows.rows(); ++i) out.push_back(std::stod(std::string(rows.get(i, 0))));
        return out;
    }
};

// Records the periodic events a dispatcher publishes (copied).
struct PeriodicLog {
    struct Entry {
        std::string schedule;
        Timestamp slot;
        JobId id;
        bool caught_up;
    };
    explicit PeriodicLog(EventBus& bus)
        : subscription(bus.subscribe<PeriodicJobEnqueued>([this](const PeriodicJobEnqueued& e) {
              {
                  std::lock_guard lock(mutex);
                  entries.push_back({std::string(e.schedule), e.slot, e.id, e.caught_up});
              }
              signal.notify();
          })) {}
    std::size_t size() {
        std::lock_guard lock(mutex);
        return entries.size();
    }
    std::vector<Entry> snapshot() {
        std::lock_guard lock(mutex);
        return entries;
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 30s) {
        return signal.wait_for([&] { return size() >= n; }, timeout);
    }
    std::mutex mutex;
    std::vector<Entry> entries;
    Signal signal;
    Subscription subscription;
};

TEST_F(PeriodicTest, TheLeaderInsertsOneJobPerSlotAtItsTimeAndRecordsTheSchedule) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> ran{0};
    dispatcher.on<Work>([&](const Work&, JobContext&) { ++ran; });
    dispatcher.every<Work>("tick", "@every 1s", [] { return Work{7}; }, {.priority = 3});
    PeriodicLog periodic(dispatcher.events());
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(periodic.wait_for(3));
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() >= 3; }));
    dispatcher.stop();

    const auto events = periodic.snapshot();
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].schedule, "tick");
        EXPECT_FALSE(events[i].caught_up) << "a first run has nothing to catch up";
        EXPECT_EQ(events[i].slot.time_since_epoch() % std::chrono::seconds(1), std::chrono::microseconds(0))
            << "a slot of @every 1s is a whole second";
        if (i > 0) {
            EXPECT_EQ(events[i].slot - events[i - 1].slot, std::chrono::seconds(1));
        }
    }
    // The jobs: one per slot, keyed by it, with the schedule's options.
    const auto slots = slots_of("tick");
    ASSERT_EQ(slots.size(), events.size());
    EXPECT_EQ(slots.front(), format_timestamp(events.front().slot));
    EXPECT_EQ(count("job_type = 'work' AND priority = 3 AND payload->>'n' = '7'"), std::int64_t(events.size()));
    // The schedule, as operators see it.
    auto row = sql("SELECT expression, job_type, queue, last_slot = $1::timestamptz,"
                   " next_slot = $1::timestamptz + interval '1 second', worker_id FROM periodic_schedules"
                   " WHERE name = 'tick'",
                   {format_timestamp(events.back().slot)});
    ASSERT_EQ(row.rows(), 1u);
    EXPECT_EQ(row.get(0, 0), "@every 1s");
    EXPECT_EQ(row.get(0, 1), "work");
    EXPECT_EQ(row.get(0, 2), "default");
    EXPECT_EQ(row.get(0, 3), "t");
    EXPECT_EQ(row.get(0, 4), "t");
    EXPECT_EQ(row.get(0, 5), dispatcher.worker_id());
    EXPECT_EQ(dispatcher.metrics().periodic_enqueued, events.size());
}

// Two dispatchers with the same schedule (as two replicas of a service):
// one leads, and every slot has exactly one job, none missing.
TEST_F(PeriodicTest, TwoDispatchersWithTheSameScheduleInsertEachSlotOnce) {
    auto other_store = make_store();
    std::vector<std::unique_ptr<Dispatcher>> dispatchers;
    std::vector<std::unique_ptr<PeriodicLog>> logs;
    for (auto* store : {&*store_, &other_store}) {
        dispatchers.push_back(std::make_unique<Dispatcher>(
            *store, DispatcherOptions{.queues = {{"default", 2}}, .reclaim_interval = 200ms}));
        dispatchers.back()->on<Work>([](const Work&, JobContext&) {});
        dispatchers.back()->every<Work>("tick", "@every 1s", [] { return Work{1}; });
        logs.push_back(std::make_unique<PeriodicLog>(dispatchers.back()->events()));
    }
    for (auto& d : dispatchers) d->start();
    ASSERT_TRUE(poll_until([&] { return logs[0]->size() + logs[1]->size() >= 4; }, 30s));
    for (auto& d : dispatchers) d->stop();
    EXPECT_TRUE(logs[0]->size() == 0 || logs[1]->size() == 0) << "one leader inserted them all";
    const auto slots = slots_of("tick");
    EXPECT_EQ(slots.size(), logs[0]->size() + logs[1]->size());
    EXPECT_EQ(std::set<std::string>(slots.begin(), slots.end()).size(), slots.size()) << "a slot twice";
    for (double gap : gaps_of("tick")) EXPECT_EQ(gap, 1.0) << "a slot is missing";
}

// The leader was away for three slots of an hourly schedule: the next
// leader inserts the latest missed slot once, not three jobs; a schedule
// that opts out inserts none.
TEST_F(PeriodicTest, AfterDowntimeTheLatestMissedSlotIsInsertedOnceUnlessTheScheduleOptsOut) {
    for (const char* name : {"hourly-report", "hourly-skip"}) {
        sql("INSERT INTO periodic_schedules (name, expression, job_type, queue, last_slot, worker_id)"
            " VALUES ($1, '@hourly', 'work', 'default', date_trunc('hour', now()) - interval '3 hours', 'gone')",
            {name});
    }
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .poll_interval = 1h});
    dispatcher.on<Work>([](const Work&, JobContext&) {});
    // Recorded in this order: the opted-out one's decision is made first.
    dispatcher.every<Work>("hourly-skip", "@hourly", [] { return Work{2}; }, {.catch_up = false});
    dispatcher.every<Work>("hourly-report", "@hourly", [] { return Work{1}; });
    PeriodicLog periodic(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(periodic.wait_for(1));
    dispatcher.stop();
    const auto events = periodic.snapshot();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].schedule, "hourly-report");
    EXPECT_TRUE(events[0].caught_up);
    EXPECT_EQ(events[0].slot.time_since_epoch() % std::chrono::hours(1), std::chrono::microseconds(0));
    EXPECT_EQ(slots_of("hourly-report"), (std::vector<std::string>{format_timestamp(events[0].slot)}));
    EXPECT_TRUE(slots_of("hourly-skip").empty());
    EXPECT_EQ(sql("SELECT count(*) FROM periodic_schedules WHERE worker_id = $1", {dispatcher.worker_id()})
                  .get_int64(0, 0),
              2)
        << "both recorded by the new leader";
}

TEST_F(PeriodicTest, BadSchedulesAreRefusedAtRegistrationNamingTheProblem) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}});
    auto make = [] { return Work{0}; };
    auto message = error_of<UsageError>([&] { dispatcher.every<Work>("bad", "0 0 32 * *", make); });
    EXPECT_NE(message.find("field 3 (day of month): 32 is out of range 1–31"), std::string::npos) << message;
    message = error_of<UsageError>([&] { dispatcher.every<Work>("", "@hourly", make); });
    EXPECT_NE(message.find("needs a name"), std::string::npos) << message;
    dispatcher.every<Work>("nightly", "0 3 * * *", make);
    message = error_of<UsageError>([&] { dispatcher.every<Work>("nightly", "@daily", make); });
    EXPECT_NE(message.find("'nightly' is registered already"), std::string::npos) << message;
    message = error_of<UsageError>([&] { dispatcher.every<Work>(std::string(256, 'n'), "@hourly", make); });
    EXPECT_NE(message.find("schedule's name"), std::string::npos) << message;
    message = error_of<UsageError>([&] { dispatcher.every<Work>("bad\xff", "@hourly", make); });
    EXPECT_NE(message.find("schedule's name"), std::string::npos) << message;
    message = error_of<UsageError>([&] { dispatcher.every<Work>("q", "@hourly", make, {.queue = ""}); });
    EXPECT_NE(message.find("queue"), std::string::npos) << message;
    EXPECT_EQ(sql("SELECT count(*) FROM periodic_schedules").get_int64(0, 0), 0);
    EXPECT_EQ(count(), 0);
}

class RetentionTest : public DispatchTest {
protected:
    // n jobs of this state, last updated `age` ago, in a queue no
    // dispatcher of the test serves.
    void jobs_in(const std::string& status, int n, const std::string& age) {
        sql("INSERT INTO jobs (job_type, payload, queue, status, updated_at)"
            " SELECT 'work', '{\"n\": 0}', 'elsewhere', $1::job_status, now() - $2::interval"
            " FROM generate_series(1, $3::int)",
            {status, age, std::to_string(n)});
    }
};

TEST_F(RetentionTest, TheLeaderDeletesFinishedJobsPastTheirStatesPeriodInBatches) {
    jobs_in("succeeded", 4500, "2 hours");  // more than two batches
    jobs_in("succeeded", 10, "10 minutes");
    jobs_in("cancelled", 20, "3 hours");
    jobs_in("cancelled", 5, "1 minute");
    jobs_in("dead_letter", 30, "400 days");
    jobs_in("pending", 3, "400 days");  // old but not finished: never deleted
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}},
                                    .poll_interval = 1h,
                                    .retention = {.succeeded = 1h, .cancelled = 2h, .dead_letter = keep_forever}});
    dispatcher.on<Work>([](const Work&, JobContext&) {});
    std::mutex mutex;
    std::map<JobStatus, std::uint64_t> deleted;
    std::size_t events = 0;
    Signal signal;
    auto subscription = dispatcher.events().subscribe<JobsDeleted>([&](const JobsDeleted& e) {
        {
            std::lock_guard lock(mutex);
            deleted[e.status] += e.count;
            ++events;
        }
        signal.notify();
    });
    dispatcher.start();
    ASSERT_TRUE(signal.wait_for([&] {
        std::lock_guard lock(mutex);
        return deleted[JobStatus::succeeded] == 4500 && deleted[JobStatus::cancelled] == 20;
    }));
    // The metrics count the same events (their subscriber may run after ours).
    ASSERT_TRUE(poll_until([&] {
        auto counted = dispatcher.metrics().deleted;
        return counted["succeeded"] == 4500 && counted["cancelled"] == 20;
    }));
    const auto metrics = dispatcher.metrics();
    dispatcher.stop();
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(events, 2u) << "one event per state of the sweep";
        EXPECT_EQ(deleted.count(JobStatus::dead_letter), 0u);
    }
    EXPECT_EQ(count("status = 'succeeded'"), 10);
    EXPECT_EQ(count("status = 'cancelled'"), 5);
    EXPECT_EQ(count("status = 'dead_letter'"), 30) << "kept forever";
    EXPECT_EQ(count("status = 'pending'"), 3);
    EXPECT_EQ(metrics.deleted.at("succeeded"), 4500u);
    EXPECT_EQ(metrics.deleted.at("cancelled"), 20u);
    EXPECT_EQ(metrics.deleted.at("dead_letter"), 0u);
    EXPECT_EQ(store_->stats().succeeded, 10) << "stats() follows the deletes";
}

TEST_F(RetentionTest, ANegativePeriodIsRefused) {
    const auto message = error_of<UsageError>(
        [&] { Dispatcher d(*store_, {.retention = {.cancelled = std::chrono::milliseconds(-1)}}); });
    EXPECT_NE(message.find("retention.cancelled must not be negative"), std::string::npos) << message;
}

}  // namespace
}  // namespace seesaw::test

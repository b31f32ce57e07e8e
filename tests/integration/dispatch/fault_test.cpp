// Fault injection: a worker process killed with SIGKILL mid-job, and the
// server terminating each of a dispatcher's connections mid-run.
#include <csignal>
#include <map>
#include <mutex>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class DispatcherFaultTest : public DispatchTest {};

TEST_F(DispatcherFaultTest, AJobWhoseWorkerWasKilledIsReclaimedAndFinishedByAnotherDispatcher) {
    sql("CREATE TABLE runs (job_id uuid NOT NULL, worker text NOT NULL, attempt int NOT NULL)");
    // A one-second lease; the job would take a minute. The doomed process
    // leads maintenance, and its leader row lasts a second after its death
    // (the rescuer takes over then).
    setenv("SEESAW_TEST_LEADER_TTL_MS", "1000", 1);
    WorkerProcess doomed({url_, schema_, "doomed", "1", "1000"});
    unsetenv("SEESAW_TEST_LEADER_TTL_MS");
    auto id = store_->enqueue(Work{1, 60'000});
    const std::string started = "started " + id.to_string() + " 1";
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return doomed.has_line(started); }, 30s));
    doomed.signal(SIGKILL);
    int status = doomed.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
    EXPECT_EQ(store_->get_job(id)->status, JobStatus::running);

    // The rescuer: its reclaim timer finds the expired lease; nothing polls.
    auto store = make_store({.retry_policy = RetryPolicy{.base = 50ms, .cap = 50ms}});
    Dispatcher rescuer(store, {.queues = {{"default", 1}}, .poll_interval = 1h, .reclaim_interval = 100ms});
    std::atomic<int> attempt{0};
    rescuer.on<Work>([&](const Work&, JobContext& ctx) {
        attempt = ctx.attempt();
        sql("INSERT INTO runs VALUES ($1, 'rescuer', $2)", {ctx.id().to_string(), std::to_string(ctx.attempt())});
    });
    EventLog log(rescuer.events());
    rescuer.start();
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 20s))
        << "status " << to_string(store_->get_job(id)->status);
    rescuer.stop();

    EXPECT_EQ(attempt.load(), 2);
    auto job = store_->get_job(id);
    EXPECT_EQ(job->status, JobStatus::succeeded);
    EXPECT_EQ(job->attempt, 2);
    ASSERT_TRUE(job->error_message);
    EXPECT_TRUE(job->error_message->starts_with("lease expired")) << *job->error_message;
    auto runs = sql("SELECT worker, attempt FROM runs ORDER BY attempt");
    ASSERT_EQ(runs.rows(), 2u);
    EXPECT_EQ(runs.get(0, 0), "doomed");
    EXPECT_EQ(runs.get(0, 1), "1");
    EXPECT_EQ(runs.get(1, 0), "rescuer");
    EXPECT_EQ(runs.get(1, 1), "2");
}

// The fast path: a job its own process enqueued (inserted running, leased
// to that process's dispatcher) is not lost when the process is killed right
// after the enqueue committed: its lease expires, and another dispatcher
// runs it, once.
TEST_F(DispatcherFaultTest, AFastPathJobWhoseProcessWasKilledRightAfterTheEnqueueRunsElsewhereOnce) {
    sql("CREATE TABLE runs (job_id uuid NOT NULL, worker text NOT NULL, attempt int NOT NULL)");
    setenv("SEESAW_TEST_ENQUEUE_MS", "60000", 1);
    setenv("SEESAW_TEST_HEARTBEAT_MS", "3600000", 1);  // its row stays as the insert left it
    setenv("SEESAW_TEST_LEADER_TTL_MS", "1000", 1);    // the rescuer leads a second after its death
    WorkerProcess doomed({url_, schema_, "doomed", "1", "1000"});
    unsetenv("SEESAW_TEST_ENQUEUE_MS");
    unsetenv("SEESAW_TEST_HEARTBEAT_MS");
    unsetenv("SEESAW_TEST_LEADER_TTL_MS");
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return doomed.count("enqueued ") == 1; }, 30s));
    doomed.signal(SIGKILL);
    int status = doomed.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
    const auto id = JobId::parse(doomed.rest_of("enqueued "));
    // Inserted running and leased to the doomed dispatcher (no claim ever
    // touched it: it is as the insert wrote it).
    auto row = sql("SELECT status::text, attempt, worker_id IS NOT NULL, created_at = updated_at FROM jobs"
                   " WHERE id = $1::uuid", {id.to_string()});
    ASSERT_EQ(row.rows(), 1u);
    EXPECT_EQ(row.get(0, 0), "running");
    EXPECT_EQ(row.get(0, 1), "1");
    EXPECT_EQ(row.get(0, 2), "t");
    EXPECT_EQ(row.get(0, 3), "t");

    auto store = make_store({.retry_policy = RetryPolicy{.base = 50ms, .cap = 50ms}});
    Dispatcher rescuer(store, {.queues = {{"default", 1}}, .poll_interval = 1h, .reclaim_interval = 100ms});
    rescuer.on<Work>([&](const Work&, JobContext& ctx) {
        sql("INSERT INTO runs VALUES ($1, 'rescuer', $2)", {ctx.id().to_string(), std::to_string(ctx.attempt())});
    });
    EventLog log(rescuer.events());
    rescuer.start();
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }, 20s));
    rescuer.stop();
    EXPECT_EQ(store_->get_job(id)->status, JobStatus::succeeded);
    EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE worker = 'rescuer'").get_int64(0, 0), 1);
}

// Every job runs exactly once although the server terminates the listen,
// claim and result connections one after the other, then all at once, while
// jobs run. A result whose connection died is written again after the
// reconnect; heartbeats every lease/3 keep every lease alive across the
// (immediate) reconnects, so no handler can run twice. The one job that may
// be delayed is one whose claim committed but whose reply was lost with the
// connection: it never ran here, its lease expires, and the reclaim makes it
// attempt 2 (its error_message says "lease expired"); it still runs once.
TEST_F(DispatcherFaultTest, TerminatingEachConnectionMidRunLosesNoJob) {
    constexpr int total = 3000;
    auto store = make_store({.lease_timeout = 2000ms, .retry_policy = RetryPolicy{.base = 50ms, .cap = 50ms}});
    Dispatcher dispatcher(store, {.queues = {{"default", 4, 8}}, .reclaim_interval = 200ms});
    std::mutex mutex;
    std::map<std::int64_t, int> runs;
    dispatcher.on<Work>([&](const Work& job, JobContext&) {
        {
            std::lock_guard lock(mutex);
            ++runs[job.n];
        }
        // Long enough that the run outlasts the three terminations.
        std::this_thread::sleep_for(10ms);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    std::vector<NewJob> jobs;
    for (int i = 0; i < total; ++i) jobs.push_back(JobStore::make_new_job(Work{i}));
    store.enqueue_batch(jobs);

    // The dispatcher's connections to this schema (pid by role, from their
    // application_name); a connection that has run nothing of this schema
    // since it (re)connected is not listed yet.
    auto connections = [&] {
        auto found = sql(
            "SELECT pid, substr(application_name, length('seesaw-dispatcher ') + 1)"
            " FROM pg_stat_activity WHERE application_name LIKE 'seesaw-dispatcher %' AND datname = current_database()"
            " AND (query LIKE '%' || $1 || '%' OR query LIKE '%' || notify_channel($1, 'ready') || '%')",
            {schema_});
        std::map<std::string, std::int64_t> pids;
        for (std::size_t row = 0; row < found.rows(); ++row) pids[std::string(found.get(row, 1))] = found.get_int64(row, 0);
        return pids;
    };
    // Waits (for the dispatcher's progress, with a deadline) until `roles`
    // are all listed, then terminates them and waits until each is back.
    auto terminate = [&](const std::vector<std::string>& roles) -> ::testing::AssertionResult {
        std::map<std::string, std::int64_t> pids;
        auto all_found = [&] {
            pids = connections();
            for (const auto& role : roles)
                if (!pids.contains(role)) return false;
            return true;
        };
        for (int i = 0; i < 500 && !all_found(); ++i) {
            auto seen = log.snapshot().succeeded.size();
            log.wait_for([&](const Events& e) { return e.succeeded.size() > seen; }, 20ms);
        }
        if (!all_found()) return ::testing::AssertionFailure() << "not every connection was found";
        std::map<std::string, std::size_t> before;
        for (const auto& role : roles) before[role] = Events::count(log.snapshot().reconnected, role);
        for (const auto& role : roles) sql("SELECT pg_terminate_backend($1::int)", {std::to_string(pids[role])});
        for (const auto& role : roles) {
            if (!log.wait_for([&](const Events& e) { return Events::count(e.reconnected, role) > before[role]; }))
                return ::testing::AssertionFailure() << "the " << role << " connection did not come back";
        }
        return ::testing::AssertionSuccess();
    };

    const std::vector<std::string> names = {"listen", "claim", "complete"};
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() >= 100; }));
    for (const auto& name : names) {
        EXPECT_LT(log.snapshot().succeeded.size(), std::size_t(total)) << "the run ended before " << name;
        ASSERT_TRUE(terminate({name}));
    }
    EXPECT_LT(log.snapshot().succeeded.size(), std::size_t(total)) << "the run ended before all at once";
    ASSERT_TRUE(terminate(names));

    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() >= std::size_t(total); }, 60s))
        << log.snapshot().succeeded.size() << " of " << total << " succeeded";
    dispatcher.stop();

    auto events = log.snapshot();
    EXPECT_EQ(events.succeeded.size(), std::size_t(total));
    EXPECT_TRUE(events.lease_lost.empty());
    for (const auto& name : names) EXPECT_GE(Events::count(events.reconnected, name), 2u) << name;
    EXPECT_EQ(count("status = 'succeeded'"), total);
    EXPECT_EQ(count("attempt > 1 AND error_message NOT LIKE 'lease expired%'"), 0);
    std::lock_guard lock(mutex);
    EXPECT_EQ(runs.size(), std::size_t(total));
    for (const auto& [n, times] : runs) EXPECT_EQ(times, 1) << "job " << n;
}

// Jobs a dispatcher holds ahead of its workers (prefetch) never started when
// it is killed: reclaim hands them back without counting a run, so jobs with
// no retries are not dead-lettered, and they run later, once each. The job
// that was running counts.
TEST_F(DispatcherFaultTest, JobsAKilledDispatcherHeldButNeverStartedAreNotCountedAsRuns) {
    sql("CREATE TABLE runs (job_id uuid NOT NULL, worker text NOT NULL, attempt int NOT NULL)");
    auto running = store_->enqueue(Work{0, 60'000}, {.priority = -1, .max_retries = 0});
    std::vector<JobId> held;
    for (int i = 1; i <= 8; ++i) held.push_back(store_->enqueue(Work{i}, {.max_retries = 0}));
    // One worker, eight jobs of prefetch, a one-second lease.
    WorkerProcess doomed({url_, schema_, "doomed", "1", "1000", "8"});
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return doomed.has_line("started " + running.to_string() + " 1"); }, 30s));
    ASSERT_TRUE(poll_until([&] { return count("status = 'running'") == 9; })) << "all nine are held";
    // Its start is recorded (worker_progress passed its ticket): a run that
    // began and was recorded counts.
    ASSERT_TRUE(poll_until([&] {
        return sql("SELECT j.lease_ticket <= (SELECT max(p.started_through) FROM worker_progress AS p"
                   " WHERE p.worker_id = j.worker_id) FROM jobs AS j WHERE j.id = $1",
                   {running.to_string()})
                   .get(0, 0) == "t";
    })) << "the running job's start was never recorded";
    doomed.signal(SIGKILL);
    doomed.wait();

    ASSERT_TRUE(poll_until([&] {
        return sql("SELECT bool_and(lease_expires_at < clock_timestamp()) FROM jobs WHERE status = 'running'").get(0, 0) ==
               "t";
    }));
    EXPECT_EQ(store_->reclaim_expired(), 9u);
    auto job = store_->get_job(running);
    EXPECT_EQ(job->status, JobStatus::dead_letter) << "its one run crashed";
    for (const auto& id : held) {
        auto j = store_->get_job(id);
        EXPECT_EQ(j->status, JobStatus::pending) << id.to_string();
        EXPECT_EQ(j->attempt, 2);
        EXPECT_EQ(j->uncounted_attempts, 1);
        ASSERT_TRUE(j->error_message);
        EXPECT_NE(j->error_message->find("had not started"), std::string::npos) << *j->error_message;
    }

    Dispatcher rescuer(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> ran{0};
    rescuer.on<Work>([&](const Work&, JobContext& ctx) {
        sql("INSERT INTO runs VALUES ($1, 'rescuer', $2)", {ctx.id().to_string(), std::to_string(ctx.attempt())});
        ++ran;
    });
    EventLog log(rescuer.events());
    rescuer.start();
    ASSERT_TRUE(log.wait_for([](const Events& e) { return e.succeeded.size() >= 8; }, 30s))
        << log.snapshot().succeeded.size() << " succeeded; " << count("status = 'pending'") << " pending, "
        << count("status = 'running'") << " running";
    rescuer.stop();
    EXPECT_EQ(count("status = 'succeeded'"), 8);
    EXPECT_EQ(count("status = 'dead_letter'"), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE worker = 'doomed'").get_int64(0, 0), 1) << "only the running job ran";
    EXPECT_EQ(sql("SELECT count(DISTINCT job_id) FROM runs WHERE worker = 'rescuer' AND attempt = 2").get_int64(0, 0), 8);
}

// A job whose handler kills its process every time still ends in the dead
// letter queue, after max_retries + 1 counted runs: its first run may die
// before its start was recorded (it then counts as not started, and the job
// is from then on counted at its claim), so at most one more.
TEST_F(DispatcherFaultTest, AJobThatKillsItsWorkerEveryTimeIsDeadLetteredAfterMaxRetriesPlusOneRuns) {
    sql("CREATE TABLE runs (job_id uuid NOT NULL, worker text NOT NULL, attempt int NOT NULL)");
    auto store = make_store({.lease_timeout = 1000ms, .retry_policy = RetryPolicy{.base = 10ms, .cap = 10ms}});
    auto id = store.enqueue(Crash{1}, {.max_retries = 2});
    int processes = 0;
    while (store.get_job(id)->status != JobStatus::dead_letter && processes < 10) {
        ++processes;
        WorkerProcess worker({url_, schema_, "crasher-" + std::to_string(processes), "1", "1000", "4"});
        int status = worker.wait();
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
        ASSERT_TRUE(poll_until([&] {
            return sql("SELECT lease_expires_at < clock_timestamp() FROM jobs WHERE id = $1", {id.to_string()})
                       .get(0, 0) == "t";
        }));
        EXPECT_EQ(store.reclaim_expired(), 1u);
        // Due again after the backoff (10 ms).
        ASSERT_TRUE(poll_until([&] {
            return sql("SELECT run_at <= clock_timestamp() FROM jobs WHERE id = $1", {id.to_string()}).get(0, 0) == "t";
        }));
    }
    EXPECT_GE(processes, 3);
    EXPECT_LE(processes, 4);
    auto job = store.get_job(id);
    EXPECT_EQ(job->status, JobStatus::dead_letter);
    EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE job_id = $1", {id.to_string()}).get_int64(0, 0), processes);
    EXPECT_EQ(job->attempt - job->uncounted_attempts, 3) << "counted runs";
    EXPECT_LE(job->uncounted_attempts, 1);
    ASSERT_TRUE(job->error_message);
    EXPECT_NE(job->error_message->find("run 3 of 3"), std::string::npos) << *job->error_message;
}

}  // namespace
}  // namespace seesaw::test

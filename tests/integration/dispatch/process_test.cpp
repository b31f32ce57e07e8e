// Dispatchers in separate processes (tests/support/test_worker.cpp) sharing
// one schema: every job succeeds, and runs, exactly once.
#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class DispatcherProcessTest : public DispatchTest {
protected:
    void SetUp() override {
        DispatchTest::SetUp();
        sql("CREATE TABLE runs (job_id uuid NOT NULL, worker text NOT NULL, attempt int NOT NULL)");
    }
    std::unique_ptr<WorkerProcess> spawn(const std::string& name, int workers = 4) {
        return std::make_unique<WorkerProcess>(std::vector<std::string>{url_, schema_, name, std::to_string(workers)});
    }
};

TEST_F(DispatcherProcessTest, TwoDispatcherProcessesRunTwentyThousandJobsEachExactlyOnce) {
    constexpr std::size_t total = 20'000;
    auto a = spawn("a");
    auto b = spawn("b");
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("ready") == 1 && b->count("ready") == 1; }, 30s));

    std::vector<NewJob> jobs;
    jobs.reserve(total);
    for (std::size_t i = 0; i < total; ++i) jobs.push_back(JobStore::make_new_job(Work{std::int64_t(i)}));
    for (std::size_t at = 0; at < total; at += 5000)
        store_->enqueue_batch(std::span(jobs).subspan(at, 5000));

    auto done = [&] { return a->count("succeeded ") + b->count("succeeded ") >= total; };
    ASSERT_TRUE(WorkerProcess::wait_for(done, 120s))
        << a->count("succeeded ") << " + " << b->count("succeeded ") << " of " << total << " succeeded";
    a->signal(SIGTERM);
    b->signal(SIGTERM);
    for (auto* worker : {a.get(), b.get()}) {
        int status = worker->wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
        EXPECT_TRUE(worker->has_line("stopped 0"));
    }

    EXPECT_EQ(a->count("succeeded ") + b->count("succeeded "), total);
    EXPECT_GT(a->count("succeeded "), 0u);
    EXPECT_GT(b->count("succeeded "), 0u);
    EXPECT_EQ(count("status = 'succeeded' AND attempt = 1"), std::int64_t(total));
    // Every handler run is on record: one per job.
    auto runs = sql("SELECT count(*), count(DISTINCT job_id), count(*) FILTER (WHERE attempt <> 1) FROM runs");
    EXPECT_EQ(runs.get_int64(0, 0), std::int64_t(total));
    EXPECT_EQ(runs.get_int64(0, 1), std::int64_t(total));
    EXPECT_EQ(runs.get_int64(0, 2), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id)")
                  .get_int64(0, 0),
              0);
}

// Four processes on one backlog of 40,000 jobs: each job runs once (one row
// in the runs ledger, attempt 1) and every process gets some. Waits on the
// database (the jobs' states), not on the processes' output, and asserts no
// timing. Through PgBouncer too (tests/pgbouncer/run.sh): the workers'
// stores go through the pooler, the checks here to the server itself.
TEST_F(DispatcherProcessTest, FourProcessesRunFortyThousandJobsExactlyOnce) {
    constexpr std::int64_t total = 40'000;
    constexpr std::size_t processes = 4;
    std::vector<std::unique_ptr<WorkerProcess>> workers;
    for (std::size_t i = 0; i < processes; ++i) workers.push_back(spawn("p" + std::to_string(i)));
    ASSERT_TRUE(WorkerProcess::wait_for(
        [&] { return std::all_of(workers.begin(), workers.end(), [](const auto& w) { return w->count("ready") == 1; }); },
        60s));

    std::vector<NewJob> jobs;
    jobs.reserve(total);
    for (std::int64_t i = 0; i < total; ++i) jobs.push_back(JobStore::make_new_job(Work{i, 0}));
    for (std::size_t at = 0; at < jobs.size(); at += 5000) store_->enqueue_batch(std::span(jobs).subspan(at, 5000));

    auto succeeded = [&] { return count("status = 'succeeded'"); };
    const auto deadline = std::chrono::steady_clock::now() + 240s;  // ctest stops a test at 300 s
    while (succeeded() < total && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(200ms);
    ASSERT_EQ(succeeded(), total) << "of " << total << " jobs succeeded within four minutes";
    for (auto& worker : workers) worker->signal(SIGTERM);
    for (auto& worker : workers) {
        int status = worker->wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    }

    EXPECT_EQ(count("status = 'succeeded' AND attempt = 1"), total);
    // The ledger: one run per job, at attempt 1, each of a job in the table.
    auto runs = sql("SELECT count(*), count(DISTINCT job_id), count(*) FILTER (WHERE attempt <> 1) FROM runs");
    EXPECT_EQ(runs.get_int64(0, 0), total);
    EXPECT_EQ(runs.get_int64(0, 1), total) << "a job ran more than once";
    EXPECT_EQ(runs.get_int64(0, 2), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id)")
                  .get_int64(0, 0),
              0);
    for (std::size_t i = 0; i < processes; ++i) {
        const auto name = "p" + std::to_string(i);
        EXPECT_GT(sql("SELECT count(*) FROM runs WHERE worker = $1", {name}).get_int64(0, 0), 0)
            << "process " << name << " ran no job";
    }
}

// A pause reaches every process, including one started while the queue is
// paused: none runs a job of the paused queue, all keep running the others;
// after the resume each held job runs exactly once. Checked from the runs
// ledger, which records every handler run.
TEST_F(DispatcherProcessTest, APausedQueueIsPausedInEveryProcessAndResumesEverywhere) {
    constexpr std::size_t per_queue = 200;
    auto spawn_both = [&](const std::string& name) {
        return std::make_unique<WorkerProcess>(
            std::vector<std::string>{url_, schema_, name, "2", "60000", "4", "default,other"});
    };
    auto a = spawn_both("a");
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("ready") == 1; }, 30s));
    ASSERT_TRUE(store_->pause_queue("default"));
    auto b = spawn_both("b");  // started while the queue is paused
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return b->count("ready") == 1; }, 30s));

    EnqueueOptions other;
    other.queue = "other";
    std::vector<NewJob> jobs;
    for (std::size_t i = 0; i < per_queue; ++i) jobs.push_back(JobStore::make_new_job(Work{std::int64_t(i)}));
    for (std::size_t i = 0; i < per_queue; ++i)
        jobs.push_back(JobStore::make_new_job(Work{std::int64_t(i)}, other));
    store_->enqueue_batch(std::span(jobs).first(per_queue));  // the paused queue's first
    store_->enqueue_batch(std::span(jobs).subspan(per_queue));
    auto runs_in = [&](const std::string& queue) {
        return sql("SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.queue = $1", {queue})
            .get_int64(0, 0);
    };
    ASSERT_TRUE(poll_until([&] { return runs_in("other") == std::int64_t(per_queue); }, 60s))
        << runs_in("other") << " of the other queue's jobs ran";
    EXPECT_EQ(runs_in("default"), 0) << "a paused queue's job ran";
    EXPECT_EQ(count("queue = 'default' AND status = 'pending'"), std::int64_t(per_queue));

    ASSERT_TRUE(store_->resume_queue("default"));
    ASSERT_TRUE(poll_until([&] { return count("status = 'succeeded'") == std::int64_t(2 * per_queue); }, 60s))
        << count("status = 'succeeded'") << " succeeded";
    a->signal(SIGTERM);
    b->signal(SIGTERM);
    for (auto* worker : {a.get(), b.get()}) {
        int status = worker->wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    }
    auto runs = sql("SELECT count(*), count(DISTINCT job_id), count(DISTINCT worker) FROM runs");
    EXPECT_EQ(runs.get_int64(0, 0), std::int64_t(2 * per_queue));
    EXPECT_EQ(runs.get_int64(0, 1), std::int64_t(2 * per_queue)) << "each job ran once";
}

// `seesaw jobs cancel` or another service cancels a job that a dispatcher in
// another process is running: that dispatcher's handler is told and stops,
// the job stays cancelled, and the process goes on running other jobs.
TEST_F(DispatcherProcessTest, AJobCancelledFromAnotherProcessStopsInTheProcessRunningIt) {
    auto worker = spawn("a", 2);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return worker->count("ready") == 1; }, 30s));
    // Its handler runs until cancelled (ten minutes at most).
    const auto id = store_->enqueue(Work{1, 600'000});
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return worker->count("started " + id.to_string()) == 1; }, 30s));
    EXPECT_EQ(store_->cancel(id), (CancelResult{id, true, JobStatus::running}));
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return worker->has_line("cancelled " + id.to_string()); }, 30s));
    const auto next = store_->enqueue(Work{2});
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return worker->has_line("succeeded " + next.to_string()); }, 30s));
    worker->signal(SIGTERM);
    int status = worker->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    EXPECT_TRUE(worker->has_line("stopped 0"));
    EXPECT_FALSE(worker->has_line("succeeded " + id.to_string()));
    EXPECT_EQ(store_->get_job(id)->status, JobStatus::cancelled);
    EXPECT_EQ(sql("SELECT count(*) FROM runs WHERE job_id = $1::uuid", {id.to_string()}).get_int64(0, 0), 1);
}

// Two dispatcher processes with the same schedule at @every 1s: exactly one
// job per slot; SIGKILL the leader mid-run and the other takes over with no
// duplicate. The takeover waits for the dead leader's row to expire (up to
// leader_ttl, 1 s here, and a renew interval after its last renewal), so
// one slot more than before may pass with no leader: no gap of more than
// two slots.
TEST_F(DispatcherProcessTest, APeriodicScheduleOfTwoProcessesSurvivesTheLeadersDeath) {
    ::setenv("SEESAW_TEST_SCHEDULE", "tick|@every 1s", 1);
    ::setenv("SEESAW_TEST_RECLAIM_MS", "200", 1);
    ::setenv("SEESAW_TEST_LEADER_TTL_MS", "1000", 1);
    auto a = spawn("a", 2);
    auto b = spawn("b", 2);
    ::unsetenv("SEESAW_TEST_SCHEDULE");
    ::unsetenv("SEESAW_TEST_RECLAIM_MS");
    ::unsetenv("SEESAW_TEST_LEADER_TTL_MS");
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("leader") + b->count("leader") >= 1; }, 30s));
    auto* leader = a->count("leader") > 0 ? a.get() : b.get();
    auto* other = leader == a.get() ? b.get() : a.get();
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return leader->count("periodic ") >= 3; }, 30s));
    leader->signal(SIGKILL);
    leader->wait();
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return other->count("periodic ") >= 3; }, 30s))
        << "the other process did not take over";
    other->signal(SIGTERM);
    EXPECT_EQ(other->wait(), 0);
    EXPECT_EQ(other->count("leader"), 1u);

    auto slots = sql("SELECT count(*), count(DISTINCT unique_key),"
                     " max(s - p) <= interval '3 seconds', min(s - p) = interval '1 second' FROM ("
                     " SELECT unique_key, substr(unique_key, 15)::timestamptz AS s,"
                     " lag(substr(unique_key, 15)::timestamptz) OVER (ORDER BY unique_key) AS p"
                     " FROM jobs WHERE unique_key LIKE 'periodic:tick:%') AS t");
    EXPECT_GE(slots.get_int64(0, 0), 6);
    EXPECT_EQ(slots.get_int64(0, 0), slots.get_int64(0, 1)) << "a slot was inserted twice";
    EXPECT_EQ(slots.get(0, 2), "t") << "more than two slots in a row are missing";
    EXPECT_EQ(slots.get(0, 3), "t");
}

class LeaderProcessTest : public DispatcherProcessTest {
protected:
    void SetUp() override {
        DispatcherProcessTest::SetUp();
        // Reclaim often; a dead leader's row expires within a second.
        ::setenv("SEESAW_TEST_RECLAIM_MS", "200", 1);
        ::setenv("SEESAW_TEST_LEADER_TTL_MS", "1000", 1);
    }
    void TearDown() override {
        ::unsetenv("SEESAW_TEST_SCHEDULE");
        ::unsetenv("SEESAW_TEST_RECLAIM_MS");
        ::unsetenv("SEESAW_TEST_LEADER_TTL_MS");
        DispatcherProcessTest::TearDown();
    }
    // "it at term N" when the leader row (schema.leaders) names `process`
    // (a worker id is "<host>:<pid>:<random>"), "another at term N" otherwise.
    std::string leader_row(const WorkerProcess& process) {
        auto row = sql("SELECT leader_id, term::text FROM leaders");
        if (row.rows() == 0) return "none";
        const std::string id(row.get(0, 0));
        const bool named = id.find(":" + std::to_string(process.pid()) + ":") != std::string::npos;
        return (named ? "it" : "another") + std::string(" at term ") + std::string(row.get(0, 1));
    }
    // A job whose lease expired in the hands of a dispatcher that died, in a
    // queue no process serves (nothing runs it after the reclaim).
    JobId expired_lease() {
        auto id = store_->enqueue(Work{1}, {.queue = "nobody"});
        sql("UPDATE jobs SET status = 'running', worker_id = 'ghost', lease_expires_at = now() - interval '1 second'"
            " WHERE id = $1::uuid", {id.to_string()});
        return id;
    }
    bool reclaimed(const JobId& id) {
        return poll_until([&] { return store_->get_job(id)->status == JobStatus::failed; }, 60s);
    }
};

TEST_F(LeaderProcessTest, AKilledLeadersSuccessorTakesOverAndReclaims) {
    auto a = spawn("a", 2);
    auto b = spawn("b", 2);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("leader") + b->count("leader") >= 1; }, 30s));
    auto* leader = a->count("leader") > 0 ? a.get() : b.get();
    auto* other = leader == a.get() ? b.get() : a.get();
    EXPECT_EQ(leader_row(*leader), "it at term 1");
    leader->signal(SIGKILL);
    leader->wait();

    const auto id = expired_lease();
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return other->count("leader") == 1; }, 60s))
        << "the other process did not take over";
    EXPECT_EQ(leader_row(*other), "it at term 2");
    EXPECT_TRUE(reclaimed(id)) << "the new leader did not reclaim the expired lease";
    other->signal(SIGTERM);
    EXPECT_EQ(other->wait(), 0);
}

TEST_F(LeaderProcessTest, ACleanStopResignsAndTheOtherLeadsAtOnce) {
    // a's row lasts ten minutes without a renewal: b can lead within the
    // test's waits only if a gives the row up when it stops.
    ::setenv("SEESAW_TEST_LEADER_TTL_MS", "600000", 1);
    auto a = spawn("a", 2);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("leader") == 1; }, 30s));
    auto b = spawn("b", 2);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return b->count("ready") == 1; }, 30s));
    EXPECT_EQ(b->count("leader"), 0u);
    a->signal(SIGTERM);
    EXPECT_EQ(a->wait(), 0);
    const auto id = expired_lease();
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return b->count("leader") == 1; }, 60s));
    EXPECT_EQ(leader_row(*b), "it at term 2");
    EXPECT_TRUE(reclaimed(id));
    b->signal(SIGTERM);
    EXPECT_EQ(b->wait(), 0);
    EXPECT_EQ(sql("SELECT expires_at <= now() FROM leaders").get(0, 0), "t") << "b resigned too";
}

// A leader paused (SIGSTOP) past its row's expiry is replaced; continued, it
// finds its term gone and acts on nothing under it: every periodic slot it
// reports is older than the first its successor inserted, and the row names
// the successor still.
TEST_F(LeaderProcessTest, AStoppedLeaderIsReplacedAndOnContinuingActsOnNothingUnderItsOldTerm) {
    ::setenv("SEESAW_TEST_SCHEDULE", "tick|@every 1s", 1);
    auto a = spawn("a", 2);
    auto b = spawn("b", 2);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return a->count("leader") + b->count("leader") >= 1; }, 30s));
    auto* leader = a->count("leader") > 0 ? a.get() : b.get();
    auto* other = leader == a.get() ? b.get() : a.get();
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return leader->count("periodic ") >= 2; }, 30s));
    leader->signal(SIGSTOP);

    ASSERT_TRUE(WorkerProcess::wait_for([&] { return other->count("leader") == 1; }, 60s))
        << "the other process did not take over from the stopped leader";
    EXPECT_EQ(leader_row(*other), "it at term 2");
    const auto first = expired_lease();
    EXPECT_TRUE(reclaimed(first)) << "the new leader did not reclaim";
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return other->count("periodic ") >= 1; }, 30s));

    leader->signal(SIGCONT);
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return leader->count("not leader") == 1; }, 60s))
        << "the continued leader did not notice its term was over";
    // Both run on: the successor inserts a few more slots, a lease expires.
    const auto before = other->count("periodic ");
    const auto second = expired_lease();
    EXPECT_TRUE(reclaimed(second));
    ASSERT_TRUE(WorkerProcess::wait_for([&] { return other->count("periodic ") >= before + 3; }, 30s));

    EXPECT_EQ(leader_row(*other), "it at term 2");
    EXPECT_EQ(leader->count("leader"), 1u) << "the old leader led again";
    const auto old_slots = leader->lines("periodic ");
    const auto new_slots = other->lines("periodic ");
    ASSERT_FALSE(old_slots.empty());
    ASSERT_FALSE(new_slots.empty());
    // Slots are ISO 8601 UTC timestamps: their order is the strings'.
    EXPECT_LT(*std::max_element(old_slots.begin(), old_slots.end()),
              *std::min_element(new_slots.begin(), new_slots.end()))
        << "the old leader inserted a slot after its successor took over";
    auto duplicates = sql("SELECT count(*) - count(DISTINCT unique_key) FROM jobs WHERE unique_key LIKE 'periodic:%'");
    EXPECT_EQ(duplicates.get_int64(0, 0), 0);

    for (auto* process : {leader, other}) {
        process->signal(SIGTERM);
        EXPECT_EQ(process->wait(), 0);
    }
}

}  // namespace
}  // namespace seesaw::test

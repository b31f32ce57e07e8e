// Exactly-once effects and the in-process fast path, against a real
// PostgreSQL: a handler that takes a Transaction commits its writes with the
// job's success or not at all (a lease stolen mid-handler, a throw, a
// connection terminated during COMMIT); a job enqueued in the dispatcher's
// own process runs without a claim, only once its transaction commits, and
// only when a worker is free and no job of a higher priority waits.
#include <atomic>
#include <mutex>
#include <map>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class ExactlyOnce : public DispatchTest {
protected:
    void SetUp() override {
        DispatchTest::SetUp();
        effects_ = quote_identifier(schema_) + ".effects";
        sql("CREATE TABLE " + effects_ + " (job_id uuid NOT NULL, attempt int NOT NULL)");
    }
    // The handler's own write, in its transaction.
    void record(Transaction& tx, const JobContext& ctx) const {
        tx.connection().execute("INSERT INTO " + effects_ + " VALUES ($1::uuid, $2::int4)",
                                {ctx.id().to_string(), std::to_string(ctx.attempt())});
    }
    std::int64_t effects_of(const JobId& id) {
        return sql("SELECT count(*) FROM " + effects_ + " WHERE job_id = $1::uuid", {id.to_string()}).get_int64(0, 0);
    }
    static const JobTypeMetrics* of_type(const MetricsSnapshot& metrics, std::string_view type) {
        for (const auto& t : metrics.job_types) {
            if (t.job_type == type) return &t;
        }
        return nullptr;
    }
    static std::uint64_t fast_path(const Dispatcher& dispatcher, std::string_view type) {
        const auto metrics = dispatcher.metrics();
        const auto* t = of_type(metrics, type);
        return t != nullptr ? t->fast_path : 0;
    }

    // Another worker takes the running job over: its lease runs out,
    // reclaim retries it, and "thief" claims the retry.
    bool steal(const JobId& id) {
        sql("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::uuid", {id.to_string()});
        auto other = make_store();
        other.reclaim_expired();  // unless the dispatcher's maintenance leader got there first
        if (!poll_until([&] { return job(id).status != JobStatus::running; })) return false;
        sql("UPDATE jobs SET run_at = now() WHERE id = $1::uuid", {id.to_string()});
        return other.claim_ready("thief", 1).size() == 1;
    }

    std::string effects_;
};

// --- completion in the handler's transaction ------------------------------------

TEST_F(ExactlyOnce, AHandlersWritesAFollowUpJobAndTheSuccessCommitTogether) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    std::atomic<bool> written{false}, checked{false};
    JobId follow_up;
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        follow_up = ctx.store().enqueue_in(tx, Work{7});
        set_flag(written);
        wait_flag(checked);
    });
    std::atomic<int> follow_ups{0};
    dispatcher.on<Work>([&](const Work& work, JobContext&) { follow_ups += static_cast<int>(work.n); });
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto id = store_->enqueue(Echo{"pay"});
    ASSERT_TRUE(wait_flag(written));
    // Written but not committed: nobody else sees the write, the follow-up
    // job or the success yet.
    EXPECT_EQ(effects_of(id), 0);
    EXPECT_EQ(job(id).status, JobStatus::running);
    EXPECT_EQ(count("job_type = 'work'"), 0);
    set_flag(checked);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == 2; }));
    dispatcher.stop();

    EXPECT_EQ(effects_of(id), 1);
    EXPECT_EQ(job(id).status, JobStatus::succeeded);
    EXPECT_EQ(job(follow_up).status, JobStatus::succeeded);
    EXPECT_EQ(follow_ups.load(), 7);
}

TEST_F(ExactlyOnce, ALeaseStolenMidHandlerCommitsNeitherTheWriteNorTheSuccess) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .poll_interval = 1h, .reclaim_interval = 1h,
                                    .heartbeat_interval = 1h});
    std::atomic<bool> written{false}, stolen{false};
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        set_flag(written);
        wait_flag(stolen);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    EnqueueOptions retries;
    retries.max_retries = 3;
    const auto id = store_->enqueue(Echo{"stolen"}, retries);
    ASSERT_TRUE(wait_flag(written));

    ASSERT_TRUE(steal(id));
    set_flag(stolen);

    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.lease_lost, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(effects_of(id), 0);
    const auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::running);
    EXPECT_EQ(after.worker_id, "thief");
    EXPECT_EQ(after.attempt, 2);
    EXPECT_TRUE(log.snapshot().succeeded.empty());
}

// PgJobStoreOptions::delete_succeeded: the success deletes the row, in the
// handler's transaction like the update it replaces; a stolen lease
// commits neither the write nor the deletion.
TEST_F(ExactlyOnce, WithDeleteSucceededTheHandlersWriteAndTheRowsDeletionCommitTogether) {
    auto store = make_store({.delete_succeeded = true});
    Dispatcher dispatcher(store, {.queues = {{"default", 1}}, .poll_interval = 1h, .reclaim_interval = 1h,
                                  .heartbeat_interval = 1h});
    std::atomic<bool> written{false}, go_on{false};
    dispatcher.on<Echo>([&](const Echo& echo, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        if (echo.text == "stolen") {
            set_flag(written);
            wait_flag(go_on);
        }
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    const auto paid = store.enqueue(Echo{"pay"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, paid) == 1; }));
    EXPECT_EQ(effects_of(paid), 1);
    EXPECT_EQ(count("id = '" + paid.to_string() + "'"), 0) << "the succeeded job's row is deleted";

    EnqueueOptions retries;
    retries.max_retries = 3;
    const auto id = store.enqueue(Echo{"stolen"}, retries);
    ASSERT_TRUE(wait_flag(written));
    ASSERT_TRUE(steal(id));
    set_flag(go_on);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.lease_lost, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(effects_of(id), 0);
    const auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::running) << "the thief's row is still there";
    EXPECT_EQ(after.worker_id, "thief");
}

// Every path that writes a success deletes: the claim's, the fast path's,
// and a handler's transaction; each job runs once and stats() stay right. A
// unique job whose key holds while succeeded keeps its row.
TEST_F(ExactlyOnce, WithDeleteSucceededEveryJobRunsOnceAndLeavesNoRow) {
    auto store = make_store({.delete_succeeded = true});
    Dispatcher dispatcher(store, {.queues = {{"default", 4}}});
    std::mutex mutex;
    std::map<JobId, int> runs;
    dispatcher.on<Work>([&](const Work&, JobContext& ctx) {
        std::lock_guard lock(mutex);
        ++runs[ctx.id()];
    });
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        std::lock_guard lock(mutex);
        ++runs[ctx.id()];
    });
    EventLog log(dispatcher.events());
    std::vector<NewJob> backlog;
    for (int i = 0; i < 300; ++i) backlog.push_back(JobStore::make_new_job(Work{i}));
    auto ids = store_->enqueue_batch(backlog);  // by another store: the claim's path
    EnqueueOptions holds;  // its key stays taken while it is succeeded: its row stays
    holds.unique_key = "once";
    holds.unique_states.succeeded = true;
    const auto unique = store_->insert(Work{0}, holds).id;
    ids.push_back(unique);
    dispatcher.start();
    for (int i = 0; i < 50; ++i) ids.push_back(store.enqueue(Work{i}));  // the fast path when a worker is free
    for (int i = 0; i < 50; ++i) ids.push_back(store.enqueue(Echo{"tx"}));
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == ids.size(); }));
    dispatcher.stop();
    EXPECT_EQ(runs.size(), ids.size());
    for (const auto& id : ids) EXPECT_EQ(runs[id], 1) << id.to_string();
    EXPECT_EQ(count("true"), 1) << "only the unique job's row is left";
    EXPECT_EQ(job(unique).status, JobStatus::succeeded);
    EXPECT_EQ(sql("SELECT count(*) FROM effects").get_int64(0, 0), 50);
    store.compact_stats();
    QueueStats left;
    left.succeeded = 1;
    EXPECT_EQ(store.stats(), left);
}

TEST_F(ExactlyOnce, AThrowingHandlerLeavesNoWriteAndARetryScheduled) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}});
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        throw RetryableError("the payment provider said no", std::chrono::hours(1));
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    EnqueueOptions retries;
    retries.max_retries = 3;
    const auto id = store_->enqueue(Echo{"declined"}, retries);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.retried, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(effects_of(id), 0);
    const auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::failed);
    EXPECT_EQ(after.attempt, 2);
    EXPECT_EQ(after.error_message.value_or(""), "the payment provider said no");
}

TEST_F(ExactlyOnce, AConnectionTerminatedDuringCommitLeavesTheJobAndTheWriteConsistent) {
    // COMMIT runs a deferred trigger that takes a while: the test terminates
    // the handler's backend while COMMIT runs (once), so the client cannot
    // know whether it committed, and has to ask.
    const auto schema = quote_identifier(schema_);
    sql("CREATE FUNCTION " + schema + ".slow_commit() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$");
    sql("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON " + effects_ +
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + schema + ".slow_commit()");
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .retry_policy = RetryPolicy{.base = 50ms, .cap = 50ms}});
    std::atomic<int> backend{0};
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        backend = static_cast<int>(tx.connection().execute("SELECT pg_backend_pid()").get_int64(0, 0));
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    EnqueueOptions retries;
    retries.max_retries = 3;
    const auto id = store_->enqueue(Echo{"terminated"}, retries);
    ASSERT_TRUE(poll_until([&] {
        return backend.load() != 0 &&
               sql("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int4 AND state = 'active' AND query = 'COMMIT'",
                   {std::to_string(backend.load())})
                       .get_int64(0, 0) == 1;
    }));
    sql("SELECT pg_terminate_backend($1::int4)", {std::to_string(backend.load())});

    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }));
    dispatcher.stop();
    // The first attempt's COMMIT did not happen (the server said so when
    // asked); the retry's did: one write, from attempt 2, and the success.
    const auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::succeeded);
    EXPECT_EQ(after.attempt, 2);
    EXPECT_EQ(effects_of(id), 1);
    EXPECT_EQ(sql("SELECT attempt FROM " + effects_).get_int64(0, 0), 2);
    ASSERT_EQ(after.errors.size(), 1u);
    EXPECT_NE(after.errors[0].message.find("lost during COMMIT"), std::string::npos) << after.errors[0].message;
    EXPECT_EQ(Events::count(log.snapshot().retried, id), 1u);
}

TEST_F(ExactlyOnce, AHandlerThatEndsItsTransactionItselfIsRefused) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}});
    dispatcher.on<Echo>([&](const Echo&, JobContext& ctx, Transaction& tx) {
        record(tx, ctx);
        tx.commit();  // a UsageError: the dispatcher commits
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    EnqueueOptions once;
    once.max_retries = 0;
    const auto id = store_->enqueue(Echo{"commits"}, once);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.dead_lettered, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(effects_of(id), 0);
    EXPECT_NE(job(id).error_message.value_or("").find("committed by the dispatcher"), std::string::npos);
}

// --- the in-process fast path -------------------------------------------------------

TEST_F(ExactlyOnce, AJobEnqueuedInTheDispatchersProcessRunsWithoutAClaim) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo&, JobContext&) { ++runs; });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    const auto id = store_->enqueue(Echo{"fast"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }));
    EXPECT_EQ(log.snapshot().claimed_rows, 0u) << "a claim statement returned it";
    EXPECT_EQ(fast_path(dispatcher, "echo"), 1u);
    EXPECT_EQ(Events::count(log.snapshot().claimed, id), 1u);  // events see it like any other
    EXPECT_EQ(Events::count(log.snapshot().started, id), 1u);
    dispatcher.stop();
    const auto after = job(id);
    EXPECT_EQ(after.status, JobStatus::succeeded);
    EXPECT_EQ(after.attempt, 1);
    EXPECT_EQ(after.worker_id, dispatcher.worker_id());
    EXPECT_EQ(runs.load(), 1);
}

TEST_F(ExactlyOnce, TheFastPathCanBeTurnedOff) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}, .fast_path = false});
    dispatcher.on<Echo>([&](const Echo&, JobContext&) {});
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));
    const auto id = store_->enqueue(Echo{"claimed"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, id) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(fast_path(dispatcher, "echo"), 0u);
}

TEST_F(ExactlyOnce, ATransactionalEnqueueRunsOnlyOnceItsTransactionCommits) {
    // One worker: a reservation the rolled-back enqueue did not give back
    // would send the committed one down the normal path.
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1}}, .poll_interval = 1h});
    std::atomic<int> runs{0};
    dispatcher.on<Echo>([&](const Echo& echo, JobContext&) {
        EXPECT_EQ(echo.text, "committed");
        ++runs;
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));

    auto connection = connect();
    JobId rolled_back;
    {
        Transaction tx(connection);
        rolled_back = store_->enqueue_in(tx, Echo{"rolled back"});
        tx.rollback();
    }
    JobId committed;
    {
        Transaction tx(connection);
        committed = store_->enqueue_in(tx, Echo{"committed"});
        EXPECT_TRUE(log.snapshot().started.empty());  // not before the commit
        tx.commit();
    }
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.succeeded, committed) == 1; }));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 1);
    EXPECT_FALSE(store_->get_job(rolled_back));
    EXPECT_EQ(fast_path(dispatcher, "echo"), 1u);
    EXPECT_EQ(job(committed).worker_id, dispatcher.worker_id());
}

TEST_F(ExactlyOnce, WithNoFreeWorkerAnEnqueueTakesTheNormalPath) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 1, 0}}});
    std::atomic<bool> release{false};
    dispatcher.on<Echo>([&](const Echo& echo, JobContext&) {
        if (echo.text == "busy") wait_flag(release);
    });
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));
    const auto busy = store_->enqueue(Echo{"busy"});
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return Events::count(e.started, busy) == 1; }));
    // The only worker is busy: inserted pending, as without the fast path,
    // and claimed (not handed over) once the worker is free. (Not checked
    // by its status here: a claim the dispatcher sent while its worker was
    // still free, before the first job arrived, may be answered after this
    // insert and take it; it then waits in memory, claimed, as prefetched
    // jobs do. Seen on a loaded machine.)
    const auto waiting = store_->enqueue(Echo{"waiting"});
    set_flag(release);
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == 2; }));
    dispatcher.stop();
    EXPECT_EQ(fast_path(dispatcher, "echo"), 1u) << "only the first went the fast path";
    const auto metrics = dispatcher.metrics();
    ASSERT_NE(of_type(metrics, "echo"), nullptr);
    EXPECT_EQ(of_type(metrics, "echo")->claimed, 2u);
    EXPECT_EQ(job(waiting).status, JobStatus::succeeded);
}

TEST_F(ExactlyOnce, AFastPathJobNeverOvertakesAWaitingJobOfAHigherPriority) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 4}}});
    dispatcher.on<Echo>([&](const Echo&, JobContext&) {});
    dispatcher.on<Work>([&](const Work&, JobContext&) {});
    EventLog log(dispatcher.events());
    dispatcher.start();
    ASSERT_TRUE(wait_until_listening(log, notify_ready()));
    // A due job of priority 3 waits in the queue (of a type no dispatcher
    // here runs, so it stays).
    auto other = make_store();
    EnqueueOptions three;
    three.priority = 3;
    other.enqueue(NewJob{"unhandled", "{}", three});

    EnqueueOptions lower = three, higher = three;
    lower.priority = 5;
    higher.priority = 1;
    const auto behind = store_->enqueue(Echo{"priority 5"}, lower);  // waits its turn: inserted pending, claimed
    const auto same = store_->enqueue(Work{1}, three);   // same priority: may go ahead
    const auto ahead = store_->enqueue(Work{2}, higher);  // a higher one: goes ahead
    ASSERT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() == 3; }));
    dispatcher.stop();
    EXPECT_EQ(fast_path(dispatcher, "echo"), 0u);
    EXPECT_EQ(fast_path(dispatcher, "work"), 2u);
    for (const auto& id : {behind, same, ahead}) EXPECT_EQ(job(id).status, JobStatus::succeeded);
}

}  // namespace
}  // namespace seesaw::test

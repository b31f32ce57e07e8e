// Unique jobs (EnqueueOptions::unique_key): the database lets one job of a
// type hold a key, whoever inserts it (any thread, process, or plain SQL).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

EnqueueOptions keyed(std::string key) {
    EnqueueOptions options;
    options.unique_key = std::move(key);
    return options;
}

class Unique : public StoreTest {
protected:
    // Runs the job to success (it is the only one due).
    void succeed(const JobId& id) {
        auto claimed = store_->claim_ready("w", 1);
        ASSERT_EQ(claimed.size(), 1u);
        ASSERT_EQ(claimed[0].id, id);
        store_->mark_succeeded(claimed[0].lease());
    }
    // Runs the job to the dead letter queue (it is the only one due).
    void dead_letter(const JobId& id) {
        auto claimed = store_->claim_ready("w", 1);
        ASSERT_EQ(claimed.size(), 1u);
        ASSERT_EQ(claimed[0].id, id);
        store_->mark_failed(claimed[0].lease(), "broken", ErrorKind::non_retryable);
        ASSERT_EQ(job(id).status, JobStatus::dead_letter);
    }
};

TEST_F(Unique, ASecondJobWithTheKeyIsNotInsertedAndTheFirstIsNamed) {
    const auto first = store_->insert(SendEmail{"a@b.c", "report"}, keyed("account-1"));
    EXPECT_TRUE(first.inserted);
    const auto second = store_->insert(SendEmail{"x@y.z", "other"}, keyed("account-1"));
    EXPECT_FALSE(second.inserted);
    EXPECT_EQ(second.id, first.id);
    // enqueue() gives the same answer: the id of the job the key maps to.
    EXPECT_EQ(store_->enqueue(SendEmail{"x@y.z", "third"}, keyed("account-1")), first.id);
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(decode_payload<SendEmail>(job(first.id).payload).to, "a@b.c");  // the first one's payload

    // Another key, another type with the same key, a job without a key: new jobs.
    EXPECT_TRUE(store_->insert(SendEmail{"a", "b"}, keyed("account-2")).inserted);
    EXPECT_TRUE(store_->insert(job_of("other_type", keyed("account-1"))).inserted);
    EXPECT_TRUE(store_->insert(SendEmail{"a", "b"}).inserted);
    EXPECT_EQ(count(), 4);

    const auto stored = job(first.id);
    EXPECT_EQ(stored.unique_key, "account-1");
    EXPECT_EQ(stored.unique_bucket, std::nullopt);
    EXPECT_EQ(stored.unique_states,
              (std::vector<JobStatus>{JobStatus::pending, JobStatus::running, JobStatus::failed}));
}

TEST_F(Unique, TheKeyIsHeldUntilTheJobFinishesWhetherItWaitsRunsOrAwaitsARetry) {
    EnqueueOptions options = keyed("k");
    options.max_retries = 1;
    const auto first = store_->insert(job_of("t", options));
    auto claimed = store_->claim_ready("w", 1);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_FALSE(store_->insert(job_of("t", options)).inserted);  // running
    store_->mark_failed(claimed[0].lease(), "again", ErrorKind::retryable);
    ASSERT_EQ(job(first.id).status, JobStatus::failed);
    EXPECT_FALSE(store_->insert(job_of("t", options)).inserted);  // awaiting its retry
    sql("UPDATE jobs SET run_at = now() WHERE id = $1::uuid", {first.id.to_string()});
    succeed(first.id);
    const auto next = store_->insert(job_of("t", options));  // finished: the key is free
    EXPECT_TRUE(next.inserted);
    EXPECT_NE(next.id, first.id);
    EXPECT_EQ(count(), 2);
}

TEST_F(Unique, StatesThatIncludeSucceededKeepTheKeyAfterSuccess) {
    EnqueueOptions options = keyed("once");
    options.unique_states.succeeded = true;
    const auto first = store_->insert(job_of("t", options));
    succeed(first.id);
    EXPECT_EQ(job(first.id).unique_states, (std::vector<JobStatus>{JobStatus::pending, JobStatus::running,
                                                                   JobStatus::failed, JobStatus::succeeded}));
    const auto again = store_->insert(job_of("t", options));
    EXPECT_FALSE(again.inserted);
    EXPECT_EQ(again.id, first.id);
    store_->cleanup(JobStatus::succeeded, 0ms);  // deleting it frees the key
    EXPECT_TRUE(store_->insert(job_of("t", options)).inserted);
}

TEST_F(Unique, ADeadLetterWhoseKeyIsTakenIsNotRetriedAndTheHolderIsNamed) {
    const auto dead = store_->insert(job_of("t", keyed("k")));
    dead_letter(dead.id);
    const auto holder = store_->insert(job_of("t", keyed("k")));  // a dead letter lets its key go
    ASSERT_TRUE(holder.inserted);

    try {
        store_->retry_dead_letter(dead.id);
        ADD_FAILURE() << "retried a dead letter whose key another job holds";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("is held by job " + holder.id.to_string()), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(store_->retry_dead_letters(std::vector<JobId>{dead.id}), UsageError);
    EXPECT_EQ(store_->retry_all_dead_letters(), 0u);
    EXPECT_EQ(job(dead.id).status, JobStatus::dead_letter);

    // Once the holder finished, it is retried.
    succeed(holder.id);
    EXPECT_TRUE(store_->retry_dead_letter(dead.id));
    EXPECT_EQ(job(dead.id).status, JobStatus::pending);
}

TEST_F(Unique, UniqueForMakesTheKeyUniqueWithinEachPeriod) {
    EnqueueOptions options = keyed("hourly");
    options.unique_for = 1h;
    const auto first = store_->insert(job_of("t", options));
    ASSERT_TRUE(first.inserted);
    // The period the job was enqueued in: now() rounded down to the hour.
    auto bucket = sql("SELECT unique_bucket = date_trunc('hour', created_at, 'UTC'),"
                      " unique_bucket <= created_at AND created_at < unique_bucket + interval '1 hour'"
                      " FROM jobs WHERE id = $1::uuid",
                      {first.id.to_string()});
    EXPECT_EQ(bucket.get(0, 0), "t");
    EXPECT_EQ(bucket.get(0, 1), "t");
    ASSERT_TRUE(job(first.id).unique_bucket.has_value());

    // The job of the previous hour does not hold this hour's key.
    sql("UPDATE jobs SET unique_bucket = unique_bucket - interval '1 hour' WHERE id = $1::uuid",
        {first.id.to_string()});
    const auto this_hour = store_->insert(job_of("t", options));
    EXPECT_TRUE(this_hour.inserted);
    // Within the same hour (a period of 1,000 years cannot end between the
    // two calls), a duplicate.
    options.unique_for = unique_for_limit;
    const auto long_one = store_->insert(job_of("t", options));
    ASSERT_TRUE(long_one.inserted);  // another period length, another bucket
    const auto again = store_->insert(job_of("t", options));
    EXPECT_FALSE(again.inserted);
    EXPECT_EQ(again.id, long_one.id);
    // A key without a period is another key again.
    EXPECT_TRUE(store_->insert(job_of("t", keyed("hourly"))).inserted);
}

TEST_F(Unique, ABatchHoldingAKeyTwiceInsertsTheFirstAndMapsEveryJob) {
    const auto held = store_->insert(job_of("t", keyed("held")));
    std::vector<NewJob> batch{job_of("t", keyed("k1"), R"({"n":1})"), job_of("t", keyed("k1"), R"({"n":2})"),
                              job_of("t", keyed("k2"), R"({"n":3})"), job_of("t", {}, R"({"n":4})"),
                              job_of("t", keyed("k2"), R"({"n":5})"), job_of("t", keyed("held"), R"({"n":6})")};
    const auto result = store_->insert_batch(batch);
    ASSERT_EQ(result.size(), batch.size());
    EXPECT_EQ(result[0], (Enqueued{batch[0].id, true}));
    EXPECT_EQ(result[1], (Enqueued{batch[0].id, false}));
    EXPECT_EQ(result[2], (Enqueued{batch[2].id, true}));
    EXPECT_EQ(result[3], (Enqueued{batch[3].id, true}));
    EXPECT_EQ(result[4], (Enqueued{batch[2].id, false}));
    EXPECT_EQ(result[5], (Enqueued{held.id, false}));
    EXPECT_EQ(count(), 4);
    EXPECT_EQ(sql("SELECT payload->>'n' FROM jobs WHERE id = $1::uuid", {batch[0].id.to_string()}).get(0, 0), "1");

    // enqueue_batch returns the same ids; in a transaction that rolls back, nothing stays.
    auto conn = store_->pool().acquire();
    {
        Transaction tx(*conn);
        std::vector<NewJob> more{job_of("t", keyed("k3")), job_of("t", keyed("k1"))};
        const auto ids = store_->enqueue_batch_in(*conn, more);
        EXPECT_EQ(ids, (std::vector<JobId>{more[0].id, batch[0].id}));
    }
    EXPECT_EQ(count(), 4);
    EXPECT_TRUE(store_->insert(job_of("t", keyed("k3"))).inserted);
}

TEST_F(Unique, AJobInsertedWithPlainSqlHoldsItsKey) {
    const auto id = JobId::generate();
    sql("INSERT INTO jobs (id, job_type, payload, unique_key, unique_states)"
        " VALUES ($1::uuid, 't', '{}', 'from-sql', '{pending,running,failed}')",
        {id.to_string()});
    const auto from_api = store_->insert(job_of("t", keyed("from-sql")));
    EXPECT_FALSE(from_api.inserted);
    EXPECT_EQ(from_api.id, id);
    // A second one by SQL: refused by the index, or skipped with ON CONFLICT DO NOTHING.
    try {
        sql("INSERT INTO jobs (id, job_type, payload, unique_key, unique_states)"
            " VALUES (gen_random_uuid(), 't', '{}', 'from-sql', '{pending,running,failed}')");
        ADD_FAILURE() << "a duplicate key was inserted by SQL";
    } catch (const ConstraintError& e) {
        EXPECT_EQ(e.sqlstate(), "23505");
        EXPECT_NE(std::string(e.what()).find("jobs_unique_key"), std::string::npos) << e.what();
    }
    EXPECT_EQ(sql("INSERT INTO jobs (id, job_type, payload, unique_key, unique_states)"
                  " VALUES (gen_random_uuid(), 't', '{}', 'from-sql', '{pending,running,failed}')"
                  " ON CONFLICT DO NOTHING RETURNING id")
                  .rows(),
              0u);
    // A key without the states it is held in, or states that leave out a live one: refused.
    EXPECT_THROW(sql("INSERT INTO jobs (id, job_type, payload, unique_key) VALUES (gen_random_uuid(), 't', '{}', 'x')"),
                 ConstraintError);
    EXPECT_THROW(sql("INSERT INTO jobs (id, job_type, payload, unique_key, unique_states)"
                     " VALUES (gen_random_uuid(), 't', '{}', 'x', '{pending}')"),
                 ConstraintError);
    EXPECT_EQ(count(), 1);
}

TEST_F(Unique, BadUniqueOptionsAreRefusedNamingTheProblemAndWriteNothing) {
    struct Case {
        EnqueueOptions options;
        std::string message;
    };
    std::vector<Case> cases;
    cases.push_back({keyed(""), "unique_key must not be empty"});
    cases.push_back({keyed(std::string("a\0b", 3)), "unique_key 'a\\0...' contains a NUL byte"});
    cases.push_back({keyed(std::string(1025, 'k')), "unique_key is 1025 bytes long; at most 1024"});
    cases.push_back({keyed("\xff"), "unique_key is not valid UTF-8"});
    {
        auto o = keyed("k");
        o.unique_for = 0ms;
        cases.push_back({o, "unique_for must be positive, got 0 ms"});
        o.unique_for = -5ms;
        cases.push_back({o, "unique_for must be positive, got -5 ms"});
        o.unique_for = unique_for_limit + 1ms;
        cases.push_back({o, "unique_for must be at most"});
    }
    {
        EnqueueOptions o;
        o.unique_for = 1h;
        cases.push_back({o, "unique_for was given without a unique_key"});
        o.unique_for.reset();
        o.unique_states.dead_letter = true;
        cases.push_back({o, "unique_states were given without a unique_key"});
    }
    for (const auto& c : cases) {
        try {
            store_->insert(job_of("t", c.options));
            ADD_FAILURE() << "accepted: " << c.message;
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
                << "expected '" << c.message << "' in: " << e.what();
        }
        // In a batch, the good job before it is not written either.
        std::vector<NewJob> batch{job_of("t", keyed("good")), job_of("t", c.options)};
        EXPECT_THROW(store_->insert_batch(batch), UsageError) << c.message;
    }
    EXPECT_EQ(count(), 0);
}

// Producers in two processes, four threads each, racing on 100 keys: one job
// per key, and every call names the job that holds its key.
TEST_F(Unique, ProducersRacingInTwoProcessesInsertOneJobPerKey) {
    constexpr int keys = 100;
    constexpr int threads = 4;
    constexpr int calls_per_thread = 250;  // 1,000 per process

    // Each thread calls insert for keys 0..99 in turn (all threads on the
    // same key at about the same time); returns the inserts it won and every
    // (key, id) it was told.
    struct Outcome {
        int inserted = 0;
        std::vector<std::pair<int, JobId>> answers;
    };
    auto race = [&](PgJobStore& store) {
        std::vector<Outcome> outcomes(threads);
        std::vector<std::thread> running;
        std::atomic<int> ready{0};
        for (int t = 0; t < threads; ++t) {
            running.emplace_back([&, t] {
                ready.fetch_add(1);
                while (ready.load() < threads) std::this_thread::yield();
                for (int i = 0; i < calls_per_thread; ++i) {
                    const int key = i % keys;
                    const auto r = store.insert(job_of("race", keyed("key-" + std::to_string(key))));
                    outcomes[t].inserted += r.inserted ? 1 : 0;
                    outcomes[t].answers.emplace_back(key, r.id);
                }
            });
        }
        for (auto& thread : running) thread.join();
        return outcomes;
    };

    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The other producer process: its own pool and store; reports how
        // many inserts it won, or -1 when something failed.
        ::close(pipe_fds[0]);
        int won = -1;
        try {
            PgPoolOptions pool_options;
            pool_options.max_connections = threads;
            PgJobStoreOptions store_options;
            store_options.schema = schema_;
            PgJobStore store(PgPool(url_, pool_options), store_options);
            won = 0;
            for (const auto& outcome : race(store)) won += outcome.inserted;
        } catch (...) {
            won = -1;
        }
        const auto written = ::write(pipe_fds[1], &won, sizeof won);
        ::_exit(written == sizeof won ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    const auto outcomes = race(*store_);
    int child_won = -2;
    ASSERT_EQ(::read(pipe_fds[0], &child_won, sizeof child_won), static_cast<ssize_t>(sizeof child_won));
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_GE(child_won, 0) << "the other process's inserts failed";

    int won = 0;
    for (const auto& outcome : outcomes) won += outcome.inserted;
    EXPECT_EQ(won + child_won, keys);
    EXPECT_EQ(count(), keys);
    EXPECT_EQ(count("job_type = 'race'"), keys);
    // Every answer this process got names the one job of its key.
    std::map<std::string, std::string> holder;
    auto rows = sql("SELECT unique_key, id::text FROM jobs");
    for (std::size_t i = 0; i < rows.rows(); ++i) holder[std::string(rows.get(i, 0))] = std::string(rows.get(i, 1));
    for (const auto& outcome : outcomes)
        for (const auto& [key, id] : outcome.answers)
            EXPECT_EQ(id.to_string(), holder["key-" + std::to_string(key)]) << "key-" << key;
}

}  // namespace
}  // namespace seesaw::test

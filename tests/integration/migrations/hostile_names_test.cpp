// Any valid PostgreSQL identifier works as a schema name, and any name up to
// the limits as a queue name, and no name is ever executed: each name below
// is migrated into, used by the store's every statement and by a dispatcher
// woken by NOTIFY, while a canary table that an injection would empty keeps
// its row.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "test_database.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

// A name that breaks out of a string literal, a dollar quote, an identifier
// or a format() pattern, each aiming at the canary.
std::vector<std::string> hostile_names(const std::string& canary) {
    return {
        "'::text)WHERE false;END IF;DELETE FROM public." + canary + ";IF false THEN--",
        "o'brien",
        "a$$b",
        "x$fn$y",
        "\"quoted\"",
        "x\";DELETE FROM public." + canary + ";--",
        "back\\slash'",
        "@schema@",
        "$1",
        "%I%s%L",
        "Ünïcödé schéma 漢字",
        "with space",
        std::string(63, 'z'),  // the longest identifier
    };
}

class HostileNameTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        url_ = database_url();
        std::random_device device;
        canary_ = "seesaw_canary_" + std::to_string(device());
        admin_.emplace(Connection::open(url_));
        admin_->execute("CREATE TABLE public." + canary_ + " (x int)");
        admin_->execute("INSERT INTO public." + canary_ + " VALUES (1)");
        // Unique per run, still hostile: the prefix keeps the dangerous part.
        name_ = hostile_names(canary_).at(static_cast<std::size_t>(GetParam()));
        if (name_.size() < 60) name_ += " " + std::to_string(device() % 100000);
        if (name_.size() > 63) name_.resize(63);
    }
    void TearDown() override {
        admin_->execute("DROP SCHEMA IF EXISTS " + quote_identifier(name_) + " CASCADE");
        admin_->execute("DROP TABLE IF EXISTS public." + canary_);
    }
    std::int64_t canary_rows() { return admin_->execute("SELECT count(*) FROM public." + canary_).get_int64(0, 0); }

    std::string url_, canary_, name_;
    std::optional<Connection> admin_;
};

TEST_P(HostileNameTest, WorksAsASchemaNameAndIsNeverExecuted) {
    SCOPED_TRACE("schema " + quote_identifier(name_));
    auto result = migrate(*admin_, name_);
    EXPECT_EQ(result.version, migrations().back().version);
    EXPECT_EQ(migrate(*admin_, name_).applied.size(), 0u) << "migrating again applies nothing";

    PgPool pool(url_, PgPoolOptions{.max_connections = 4});
    PgJobStore store(pool, PgJobStoreOptions{.schema = name_, .lease_timeout = 2000ms, .transaction_pooling = pooled()});
    // Every statement of the store, with a queue as hostile as the schema.
    const std::string queue = name_.substr(0, 100);
    auto first = store.enqueue(Echo{"one"}, {.queue = queue});
    std::vector<NewJob> batch{JobStore::make_new_job(Echo{"two"}, {.queue = queue}),
                              JobStore::make_new_job(Echo{"three"}, {.max_retries = 0, .queue = queue})};
    store.enqueue_batch(batch);
    {
        auto conn = pool.acquire();
        Transaction tx(*conn);
        store.enqueue_in(*conn, Echo{"four"}, {.queue = queue});
        tx.commit();
    }
    auto claimed = store.claim_ready("worker 'w'", 10, ClaimFilter{.queue = queue});
    ASSERT_EQ(claimed.size(), 4u);
    EXPECT_EQ(claimed[0].id, first) << "claimed in order";
    store.heartbeat(claimed[0].lease());
    store.mark_succeeded(claimed[0].lease());
    EXPECT_EQ(store.mark_failed(claimed[2].lease(), "boom", ErrorKind::non_retryable).outcome,
              FailOutcome::dead_lettered);
    EXPECT_TRUE(store.retry_dead_letter(claimed[2].id));
    EXPECT_TRUE(store.release(claimed[1].lease()));
    admin_->execute("UPDATE " + quote_identifier(name_) + ".jobs SET lease_expires_at = now() - interval '1 second'"
                    " WHERE status = 'running'");
    EXPECT_EQ(store.reclaim_expired(), 1u);
    auto stats = store.stats();
    EXPECT_EQ(stats.succeeded, 1);
    EXPECT_EQ(stats.pending + stats.failed, 3);
    EXPECT_EQ(store.cleanup(JobStatus::succeeded, 0ms), 1u);
    EXPECT_EQ(store.list_jobs({.queue = queue}).size(), 3u);
    EXPECT_EQ(store.retry_all_dead_letters(), 0u);
    EXPECT_GE(store.compact_stats(), 0u);

    // A dispatcher on the schema and queue, woken by NOTIFY alone.
    // Through a pooler, LISTEN goes to the server itself.
    Dispatcher dispatcher(store, {.queues = {{queue, 2}},
                                  .listen_database_url = pooled() ? direct_url() : std::string(),
                                  .poll_interval = 1h});
    std::mutex mutex;
    std::condition_variable cv;
    int ran = 0;
    dispatcher.on<Echo>([&](const Echo&, JobContext&) {
        std::lock_guard lock(mutex);
        ++ran;
        cv.notify_all();
    });
    auto states = [&] {
        std::string out;
        auto rows = admin_->execute("SELECT status::text, run_at - now() FROM " + quote_identifier(name_) + ".jobs");
        for (std::size_t i = 0; i < rows.rows(); ++i)
            out += std::string(rows.get(i, 0)) + " (due in " + std::string(rows.get(i, 1)) + ") ";
        return out;
    };
    dispatcher.start();
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return ran >= 3; })) << ran << " ran; jobs: " << states();
    }
    store.enqueue(Echo{"five"}, {.queue = queue});
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return ran >= 4; }))
            << "a job enqueued later did not run; jobs: " << states();
    }
    dispatcher.stop();
    // It led maintenance (the leader row of the schema), and resigned at its stop.
    auto leader = admin_->execute("SELECT term, expires_at <= now() FROM " + quote_identifier(name_) + ".leaders");
    ASSERT_EQ(leader.rows(), 1u);
    EXPECT_EQ(leader.get_int64(0, 0), 1);
    EXPECT_EQ(leader.get(0, 1), "t");

    EXPECT_EQ(canary_rows(), 1) << "a name was executed";
}

INSTANTIATE_TEST_SUITE_P(Names, HostileNameTest, ::testing::Range(0, 13));

}  // namespace
}  // namespace seesaw::test

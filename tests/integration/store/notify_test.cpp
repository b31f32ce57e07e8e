#include <algorithm>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Notify : public StoreTest {
protected:
    std::string channel(const std::string& schema, const std::string& kind = "ready") {
        auto conn = connect();
        return std::string(conn.execute("SELECT " + quote_identifier(schema) + ".notify_channel($1, $2)",
                                        {schema, kind})
                               .get(0, 0));
    }
    // Marks a dispatcher of `queue` as idle and waiting for a NOTIFY, where
    // the schema has a wake-up registry (a `listeners` table): inserts then
    // notify only queues someone waits on. Without one, every insert notifies.
    void arm(const std::vector<std::string>& queues, const std::string& schema = "") {
        auto conn = connect();
        auto target = quote_identifier(schema.empty() ? schema_ : schema);
        if (conn.execute("SELECT to_regclass($1) IS NULL", {target + ".listeners"}).get(0, 0) == "t") return;
        for (const auto& queue : queues)
            conn.execute("INSERT INTO " + target + ".listeners (queue, listener, armed) VALUES ($1, 'test', true)",
                         {queue});
    }
    // Sent after the statements under test, on the same channel: when it
    // arrives, everything they notified has arrived.
    void send_marker(const std::string& on_channel) {
        sql("SELECT pg_notify($1, 'marker')", {on_channel});
    }
    static std::vector<std::string> payloads(const std::vector<Notification>& got, const std::string& on_channel) {
        std::vector<std::string> out;
        for (const auto& n : got)
            if (n.channel == on_channel) out.push_back(n.payload);
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST_F(Notify, ChannelNamesIncludeTheSchema) {
    EXPECT_EQ(channel(schema_), "seesaw." + schema_);
    EXPECT_EQ(channel(schema_, "scheduled"), "seesaw." + schema_ + ".scheduled");
    auto conn = connect();
    auto long_name = conn.execute("SELECT " + quote_identifier(schema_) + ".notify_channel(repeat('x', 63))");
    EXPECT_LE(long_name.get(0, 0).size(), 63u);  // a valid channel identifier
}

TEST_F(Notify, OnePerStatementPerQueue) {
    auto ready = channel(schema_);
    auto scheduled = channel(schema_, "scheduled");
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    listener.listen(scheduled);
    arm({"a", "b"});

    std::vector<NewJob> jobs;
    for (int i = 0; i < 500; ++i) jobs.push_back(job_of("bulk", {.queue = "a"}));
    for (int i = 0; i < 300; ++i) jobs.push_back(job_of("bulk", {.queue = "b"}));
    store_->enqueue_batch(jobs);
    send_marker(ready);
    auto got = listener.until(ready, "marker");
    EXPECT_EQ(payloads(got, ready), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(payloads(got, scheduled).empty());

    // Two statements: two notifications.
    store_->enqueue(job_of("one", {.queue = "a"}));
    store_->enqueue(job_of("two", {.queue = "a"}));
    send_marker(ready);
    got = listener.until(ready, "marker");
    EXPECT_EQ(payloads(got, ready), (std::vector<std::string>{"a", "a"}));
}

TEST_F(Notify, PlainSqlInsertNotifiesToo) {
    auto ready = channel(schema_);
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    arm({"q"});
    sql("INSERT INTO jobs (job_type, payload, queue) SELECT 'sql', '{}', 'q' FROM generate_series(1, 50)");
    send_marker(ready);
    EXPECT_EQ(payloads(listener.until(ready, "marker"), ready), std::vector<std::string>{"q"});
}

TEST_F(Notify, FutureRunAtWakesNoOneOnTheReadyChannel) {
    auto ready = channel(schema_);
    auto scheduled = channel(schema_, "scheduled");
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    listener.listen(scheduled);
    arm({"a", "b", "c"});

    store_->enqueue(job_of("later", {.queue = "a", .delay = 1h}));
    std::vector<NewJob> later = {job_of("later", {.queue = "b", .delay = 2h}),
                                 job_of("later", {.queue = "b", .delay = 90s})};
    store_->enqueue_batch(later);
    send_marker(ready);
    auto got = listener.until(ready, "marker");
    EXPECT_TRUE(payloads(got, ready).empty()) << "a job that is not due woke the ready channel";
    // The scheduling channel hears of them, once per queue: "<ms until due> <queue>".
    auto on_scheduled = payloads(got, scheduled);
    ASSERT_EQ(on_scheduled.size(), 2u);
    auto ms_of = [](const std::string& payload) { return std::stoll(payload.substr(0, payload.find(' '))); };
    auto queue_of = [](const std::string& payload) { return payload.substr(payload.find(' ') + 1); };
    for (const auto& p : on_scheduled) {
        if (queue_of(p) == "a") {
            EXPECT_GT(ms_of(p), 0);
            EXPECT_LE(ms_of(p), 3'600'000);
        } else {
            EXPECT_EQ(queue_of(p), "b");
            EXPECT_LE(ms_of(p), 90'000);  // the earliest of the queue's jobs
            EXPECT_GT(ms_of(p), 0);
        }
    }

    // A statement with a due job and a future one: one ready notification.
    std::vector<NewJob> mixed = {job_of("now", {.queue = "c"}), job_of("later", {.queue = "c", .delay = 1h})};
    store_->enqueue_batch(mixed);
    send_marker(ready);
    got = listener.until(ready, "marker");
    EXPECT_EQ(payloads(got, ready), std::vector<std::string>{"c"});
}

TEST_F(Notify, NothingBeforeCommitAndNothingAfterRollback) {
    auto ready = channel(schema_);
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    arm({"gone", "kept"});
    auto conn = connect();
    {
        Transaction tx(conn);
        store_->enqueue_in(conn, job_of("rolled back", {.queue = "gone"}));
    }
    {
        Transaction tx(conn);
        store_->enqueue_in(conn, job_of("committed", {.queue = "kept"}));
        store_->enqueue_in(conn, job_of("committed", {.queue = "kept"}));
        tx.commit();  // PostgreSQL folds identical notifications of one transaction
    }
    send_marker(ready);
    EXPECT_EQ(payloads(listener.until(ready, "marker"), ready), std::vector<std::string>{"kept"});
}

TEST_F(Notify, TwoSchemasNeverWakeEachOther) {
    ExtraSchema other_schema(url_, schema_ + "_o");
    migrate(*pool_, other_schema.name());
    auto other = PgJobStore(*pool_, PgJobStoreOptions{.schema = other_schema.name(), .transaction_pooling = pooled()});
    auto mine = channel(schema_);
    auto theirs = channel(other_schema.name());
    ASSERT_NE(mine, theirs);

    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(mine);
    arm({"x", "y"});
    arm({"x", "y"}, other_schema.name());
    other.enqueue(job_of("theirs", {.queue = "x"}));
    store_->enqueue(job_of("mine", {.queue = "y"}));
    send_marker(mine);
    auto got = listener.until(mine, "marker");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].channel, mine);
    EXPECT_EQ(got[0].payload, "y");
}

TEST_F(Notify, RetryingDeadLettersWakesTheReadyChannel) {
    auto id = store_->enqueue(job_of("dead", {.max_retries = 0, .queue = "dlq"}));
    auto c = store_->claim_ready("w", 1, ClaimFilter{"dlq"}).at(0);
    store_->mark_failed(c.lease(), "boom", ErrorKind::non_retryable);
    auto ready = channel(schema_);
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    arm({"dlq"});
    ASSERT_TRUE(store_->retry_dead_letter(id));
    send_marker(ready);
    EXPECT_EQ(payloads(listener.until(ready, "marker"), ready), std::vector<std::string>{"dlq"});
}

TEST_F(Notify, RetryingAListOfDeadLettersWakesEachOfTheirQueuesOnce) {
    std::vector<JobId> ids;
    for (const char* queue : {"d1", "d1", "d2"}) {
        auto id = store_->enqueue(job_of("dead", {.max_retries = 0, .queue = queue}));
        auto c = store_->claim_ready("w", 1, ClaimFilter{queue}).at(0);
        store_->mark_failed(c.lease(), "boom", ErrorKind::non_retryable);
        ids.push_back(id);
    }
    auto ready = channel(schema_);
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(ready);
    arm({"d1", "d2"});
    ASSERT_EQ(store_->retry_dead_letters(ids), 3u);
    send_marker(ready);
    EXPECT_EQ(payloads(listener.until(ready, "marker"), ready), (std::vector<std::string>{"d1", "d2"}));
}

}  // namespace
}  // namespace seesaw::test

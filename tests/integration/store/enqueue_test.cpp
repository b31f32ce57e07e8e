#include <thread>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Enqueue : public StoreTest {
protected:
    bool payload_equals(const JobId& id, const std::string& json) {
        return sql("SELECT payload = $2::jsonb FROM jobs WHERE id = $1::uuid", {id.to_string(), json}).get(0, 0) ==
               "t";
    }
};

TEST_F(Enqueue, OneJobWithDefaultsReadsBack) {
    NewJob new_job{"send_email", R"({"to":"a@b.c","n":[1,2]})"};
    auto id = store_->enqueue(new_job);
    EXPECT_EQ(id, new_job.id);  // the id is made client-side

    auto j = job(id);
    EXPECT_EQ(j.id, id);
    EXPECT_EQ(j.job_type, "send_email");
    EXPECT_EQ(j.queue, "default");
    EXPECT_TRUE(payload_equals(id, R"({"to":"a@b.c","n":[1,2]})"));
    EXPECT_EQ(j.status, JobStatus::pending);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.max_retries, 3);
    EXPECT_EQ(j.priority, 0);
    EXPECT_EQ(j.version, 1);
    EXPECT_EQ(j.run_at, j.created_at);  // due at once, by the database clock
    EXPECT_EQ(j.updated_at, j.created_at);
    EXPECT_EQ(j.worker_id, std::nullopt);
    EXPECT_EQ(j.lease_expires_at, std::nullopt);
    EXPECT_EQ(j.error_message, std::nullopt);
    EXPECT_EQ(j.error_kind, std::nullopt);
    EXPECT_EQ(count(), 1);
    EXPECT_FALSE(store_->get_job(JobId::generate()).has_value());
}

TEST_F(Enqueue, TypedJobStoresItsNameAndEncodedPayload) {
    auto id = store_->enqueue(SendEmail{"a@b.c", "hello \"world\""});
    auto j = job(id);
    EXPECT_EQ(j.job_type, "send_email");
    auto decoded = decode_payload<SendEmail>(j.payload);
    EXPECT_EQ(decoded.to, "a@b.c");
    EXPECT_EQ(decoded.subject, "hello \"world\"");
    auto claimed = store_->claim_ready("w", 1);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(decode_payload<SendEmail>(claimed[0].payload).subject, "hello \"world\"");
}

TEST_F(Enqueue, OptionsAreStored) {
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() + 1h);
    auto id = store_->enqueue(SendEmail{"a", "b"}, {.priority = -5,
                                                    .max_retries = 7,
                                                    .queue = "mail",
                                                    .run_at = at,
                                                    .delay = 0ms,
                                                    .version = 3});
    auto j = job(id);
    EXPECT_EQ(j.priority, -5);
    EXPECT_EQ(j.max_retries, 7);
    EXPECT_EQ(j.queue, "mail");
    EXPECT_EQ(j.run_at, at);
    EXPECT_EQ(j.version, 3);

    auto delayed = store_->enqueue(job_of("later", {.delay = 90s}));
    auto d = job(delayed);
    EXPECT_EQ(d.run_at - d.created_at, 90s);  // now() + delay, both by the database clock

    auto zero_retries = store_->enqueue(job_of("once", {.max_retries = 0}));
    EXPECT_EQ(job(zero_retries).max_retries, 0);
}

TEST_F(Enqueue, RunAtInThePastIsDueAtOnce) {
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() - 24h);
    auto id = store_->enqueue(job_of("overdue", {.run_at = at}));
    EXPECT_EQ(job(id).run_at, at);
    auto claimed = store_->claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].run_at, at);
}

TEST_F(Enqueue, PlainSqlInsertGetsAnIdAndIsClaimable) {
    // Any language can enqueue with INSERT (job_type, payload).
    auto inserted = sql("INSERT INTO jobs (job_type, payload) VALUES ('from_sql', '{\"x\":1}') RETURNING id::text");
    auto id = JobId::parse(inserted.get(0, 0));
    EXPECT_EQ(id.bytes()[6] >> 4, 7) << "a UUIDv7 like the library's: " << id.to_string();
    EXPECT_EQ(id.bytes()[8] >> 6, 2) << id.to_string();
    auto second = JobId::parse(
        sql("INSERT INTO jobs (job_type, payload) VALUES ('from_sql', '{}') RETURNING id::text").get(0, 0));
    EXPECT_NE(second, id);

    auto claimed = store_->claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 2u);
    EXPECT_EQ(claimed[0].job_type, "from_sql");
    EXPECT_EQ(claimed[0].queue, "default");
    EXPECT_EQ(claimed[0].attempt, 1);
    EXPECT_EQ(claimed[0].max_retries, 3);
    store_->mark_succeeded(claimed[0].lease());
    store_->mark_succeeded(claimed[1].lease());
    EXPECT_EQ(store_->stats().succeeded, 2);
}

TEST_F(Enqueue, InTheCallersTransactionRolledBackLeavesNoJob) {
    auto conn = connect();
    {
        Transaction tx(conn);
        auto id = store_->enqueue_in(conn, job_of("tx"));
        // Visible inside the transaction, not outside it.
        EXPECT_EQ(conn.execute("SELECT count(*) FROM " + quote_identifier(schema_) + ".jobs WHERE id = $1::uuid",
                               {id.to_string()})
                      .get(0, 0),
                  "1");
        EXPECT_EQ(count(), 0);
        EXPECT_TRUE(store_->claim_ready("w", 10).empty());
    }  // destroyed without commit: rolled back
    EXPECT_EQ(count(), 0);
    EXPECT_EQ(store_->stats().pending, 0);

    {
        Transaction tx(conn);
        store_->enqueue_in(conn, SendEmail{"a", "b"});
        tx.rollback();
    }
    EXPECT_EQ(count(), 0);
    EXPECT_EQ(store_->stats(), QueueStats{});
}

TEST_F(Enqueue, InTheCallersTransactionCommittedLeavesOneJob) {
    auto conn = connect();
    Transaction tx(conn);
    conn.execute("CREATE TABLE " + quote_identifier(schema_) + ".orders (id int)");
    conn.execute("INSERT INTO " + quote_identifier(schema_) + ".orders VALUES (1)");
    auto id = store_->enqueue_in(conn, SendEmail{"a@b.c", "order 1"}, {.queue = "mail"});
    tx.commit();
    EXPECT_EQ(count(), 1);
    auto j = job(id);
    EXPECT_EQ(j.queue, "mail");
    EXPECT_EQ(j.status, JobStatus::pending);
    EXPECT_EQ(store_->stats().pending, 1);
}

TEST_F(Enqueue, OnARawLibpqConnection) {
    auto conn = connect();
    pg_conn* raw = conn.native();
    {
        Transaction tx(conn);
        store_->enqueue_in(raw, job_of("raw"));
    }
    EXPECT_EQ(count(), 0);
    {
        Transaction tx(conn);
        auto id = store_->enqueue_in(raw, job_of("raw"));
        auto typed = store_->enqueue_in(raw, SendEmail{"x", "y"});
        tx.commit();
        EXPECT_TRUE(store_->get_job(id).has_value());
        EXPECT_TRUE(store_->get_job(typed).has_value());
    }
    EXPECT_EQ(count(), 2);
    // Outside a transaction: autocommit.
    store_->enqueue_in(raw, job_of("raw"));
    EXPECT_EQ(count(), 3);
}

// A store not told that its URL is PgBouncer in transaction mode meets
// server connections that lack its prepared statement (26000) or have one of
// that name from another client (42P05); which server connection a pooler
// lends cannot be steered from here, so the store's answer is checked
// directly: the first such error turns preparing off for the store and its
// copies, a call outside a transaction runs again unprepared, one inside a
// transaction (aborted by the error) fails with it; other errors stand.
TEST_F(Enqueue, APreparedStatementLostToAPoolerTurnsPreparingOffForTheStore) {
    PgJobStore store(*pool_, {.schema = schema_});
    auto copy = store;
    auto conn = connect();
    std::vector<bool> calls;
    auto lost_when_prepared = [&](const char* sqlstate) {
        return [&, sqlstate](bool prepare) {
            calls.push_back(prepare);
            if (prepare) throw SqlError("prepared statement lost", sqlstate, "");
            return 7;
        };
    };
    EXPECT_EQ(store.with_prepared(conn, lost_when_prepared("42P05")), 7);
    EXPECT_EQ(calls, (std::vector<bool>{true, false}));
    calls.clear();
    EXPECT_EQ(copy.with_prepared(conn, lost_when_prepared("26000")), 7);
    EXPECT_EQ(calls, (std::vector<bool>{false})) << "off for the store's copies too";

    PgJobStore fresh(*pool_, {.schema = schema_});
    calls.clear();
    {
        Transaction tx(conn);
        EXPECT_THROW(fresh.with_prepared(conn, lost_when_prepared("26000")), SqlError);
    }
    EXPECT_EQ(calls, (std::vector<bool>{true})) << "inside a transaction the error stands";
    calls.clear();
    EXPECT_EQ(fresh.with_prepared(conn, lost_when_prepared("26000")), 7);
    EXPECT_EQ(calls, (std::vector<bool>{false}));

    PgJobStore other(*pool_, {.schema = schema_});
    EXPECT_THROW(other.with_prepared(conn, lost_when_prepared("23505")), SqlError) << "not a lost statement";
    calls.clear();
    EXPECT_THROW(other.with_prepared(conn, lost_when_prepared("23505")), SqlError);
    EXPECT_EQ(calls, (std::vector<bool>{true})) << "still preparing";
    // And a real enqueue after the switch writes its job once.
    store.enqueue(job_of("after"));
    EXPECT_EQ(count(), 1);
}

TEST_F(Enqueue, PreparedStatementIsMadeAgainAfterDiscardAll) {
    SEESAW_SKIP_WHEN_POOLED("prepared statements do not survive a transaction");
    PgPool pool(url_, {.max_connections = 1});
    PgJobStore store(pool, {.schema = schema_});
    store.enqueue(job_of("first"));
    {
        auto conn = pool.acquire();
        EXPECT_EQ(conn->execute("SELECT count(*) FROM pg_prepared_statements").get(0, 0), "1");
        conn->execute("DISCARD ALL");  // what a connection pooler may run between clients
    }
    store.enqueue(job_of("second"));
    EXPECT_EQ(count(), 2);

    // Inside a transaction the failed statement has aborted it: the error
    // says so, and the next transaction prepares again.
    auto conn = connect();
    store.enqueue_in(conn, job_of("third"));
    conn.execute("DEALLOCATE ALL");
    {
        Transaction tx(conn);
        try {
            store.enqueue_in(conn, job_of("lost with its transaction"));
            FAIL() << "expected the missing prepared statement to be reported";
        } catch (const SqlError& e) {
            EXPECT_EQ(e.sqlstate(), "26000");
        }
    }
    {
        Transaction tx(conn);
        store.enqueue_in(conn, job_of("fourth"));
        tx.commit();
    }
    EXPECT_EQ(count(), 4);
    EXPECT_EQ(count("job_type = 'lost with its transaction'"), 0);
}

TEST_F(Enqueue, PreparedStatementsCanBeTurnedOff) {
    SEESAW_SKIP_WHEN_POOLED("pg_prepared_statements shows the server connection the pooler lent, and other clients'");
    PgPool pool(url_, {.max_connections = 1});
    PgJobStore store(pool, {.schema = schema_, .prepared_statements = false});
    store.enqueue(job_of("a"));
    store.enqueue(job_of("b"));
    EXPECT_EQ(pool.acquire()->execute("SELECT count(*) FROM pg_prepared_statements").get(0, 0), "0");
    EXPECT_EQ(count(), 2);
}

TEST_F(Enqueue, BatchInTheCallersTransaction) {
    // 10 jobs go by INSERT, 100 by COPY (a batch of 64 or more).
    for (const std::size_t n : {std::size_t{10}, std::size_t{100}}) {
        sql("TRUNCATE jobs");
        store_->compact_stats();
        auto conn = connect();
        std::vector<NewJob> jobs;
        for (std::size_t i = 0; i < n; ++i) jobs.push_back(job_of("batch_tx"));
        {
            Transaction tx(conn);
            store_->enqueue_batch_in(conn, jobs);
        }
        EXPECT_EQ(count(), 0) << n;
        for (auto& j : jobs) j.id = JobId::generate();
        {
            Transaction tx(conn);
            EXPECT_EQ(store_->enqueue_batch_in(conn, jobs).size(), n);
            tx.commit();
        }
        EXPECT_EQ(count(), static_cast<std::int64_t>(n));
        EXPECT_EQ(store_->stats().pending, static_cast<std::int64_t>(n));
    }
}

// A batch of 64 or more plain jobs goes by COPY (in its text format, which
// escapes backslashes, tabs, newlines and carriage returns): every byte of
// the names and every JSON value arrives as given, and the options too.
TEST_F(Enqueue, BigBatchesKeepEveryCharacterAndOption) {
    const std::string type = "type\\with\ttab\nnewline\rreturn \\N";
    const std::string queue = "queue\\N\t.";
    const std::string payload = "{\"s\":\"tab\\there, \\\\N, newline\\n\",\r\n\t\"n\": 1}";
    std::vector<NewJob> jobs;
    for (int i = 0; i < 100; ++i) jobs.push_back(job_of(type, {.priority = i % 5, .max_retries = 7, .queue = queue, .version = 3}, payload));
    store_->enqueue_batch(jobs);
    for (int i : {0, 57, 99}) {
        auto j = job(jobs[i].id);
        EXPECT_EQ(j.job_type, type);
        EXPECT_EQ(j.queue, queue);
        EXPECT_EQ(j.priority, i % 5);
        EXPECT_EQ(j.max_retries, 7);
        EXPECT_EQ(j.version, 3);
        EXPECT_EQ(j.run_at, j.created_at) << "due at once";
        EXPECT_TRUE(payload_equals(j.id, payload)) << j.payload;
    }
    EXPECT_EQ(store_->stats().pending, 100);

    // Every job gives run_at (COPY with the column), and a mix with a delay
    // (INSERT: the delay counts from the database's clock).
    const auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() + 2h);
    std::vector<NewJob> timed, mixed;
    for (int i = 0; i < 100; ++i) timed.push_back(job_of("timed", {.run_at = at}));
    for (int i = 0; i < 100; ++i) mixed.push_back(job_of("mixed", i % 2 == 0 ? EnqueueOptions{.delay = 30s} : EnqueueOptions{}));
    store_->enqueue_batch(timed);
    store_->enqueue_batch(mixed);
    EXPECT_EQ(job(timed[42].id).run_at, at);
    auto delayed = job(mixed[42].id);
    EXPECT_EQ(delayed.run_at - delayed.created_at, 30s);
    auto now = job(mixed[43].id);
    EXPECT_EQ(now.run_at, now.created_at);
    EXPECT_EQ(count(), 300);
}

TEST_F(Enqueue, BatchOfOneHundredThousandInOneStatement) {
    constexpr int n = 100'000;
    std::vector<NewJob> jobs;
    jobs.reserve(n);
    for (int i = 0; i < n; ++i) {
        jobs.push_back(job_of(i % 2 == 0 ? "even" : "odd", {.priority = i % 7, .queue = i % 3 == 0 ? "a" : "b"},
                              R"({"i":)" + std::to_string(i) + R"(,"s":"quote \" and \\ backslash"})"));
    }
    auto ids = store_->enqueue_batch(jobs);
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; i += 9973) EXPECT_EQ(ids[i], jobs[i].id);
    EXPECT_EQ(count(), n);
    EXPECT_EQ(count("queue = 'a'"), (n + 2) / 3);
    EXPECT_EQ(count("job_type = 'even'"), n / 2);
    EXPECT_EQ(store_->stats().pending, n);
    auto j = job(jobs[12345].id);
    EXPECT_EQ(j.priority, 12345 % 7);
    EXPECT_EQ(j.job_type, "odd");
    EXPECT_TRUE(payload_equals(j.id, R"({"i":12345,"s":"quote \" and \\ backslash"})"));
}

TEST_F(Enqueue, BatchKeepsEachJobsOptions) {
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() + 2h);
    std::vector<NewJob> jobs = {job_of("a", {.priority = 3, .max_retries = 0, .queue = "q1", .version = 2}),
                                job_of("b", {.run_at = at}), job_of("c", {.delay = 30s}),
                                NewJob{"NULL", R"({"k":"NULL"})"}};
    store_->enqueue_batch(jobs);
    auto a = job(jobs[0].id);
    EXPECT_EQ(a.priority, 3);
    EXPECT_EQ(a.max_retries, 0);
    EXPECT_EQ(a.queue, "q1");
    EXPECT_EQ(a.version, 2);
    EXPECT_EQ(job(jobs[1].id).run_at, at);
    auto c = job(jobs[2].id);
    EXPECT_EQ(c.run_at - c.created_at, 30s);
    EXPECT_EQ(job(jobs[3].id).job_type, "NULL");  // a string, not SQL NULL
    EXPECT_TRUE(store_->enqueue_batch(std::vector<NewJob>{}).empty());
}

TEST_F(Enqueue, BatchIsAllOrNothingWhenOneJobIsInvalid) {
    constexpr int n = 100'000;
    std::vector<NewJob> jobs;
    jobs.reserve(n);
    for (int i = 0; i < n; ++i) jobs.push_back(job_of("bulk"));
    jobs[49'999].payload = R"({"broken": })";
    auto message = error_of<PayloadError>([&] { store_->enqueue_batch(jobs); });
    EXPECT_NE(message.find("job 50000 of 100000"), std::string::npos) << message;
    EXPECT_NE(message.find("'bulk'"), std::string::npos) << message;
    EXPECT_NE(message.find("at byte 11"), std::string::npos) << message;
    EXPECT_EQ(count(), 0);

    jobs[49'999].payload = "{}";
    jobs[99'999].options.max_retries = -1;
    message = error_of<UsageError>([&] { store_->enqueue_batch(jobs); });
    EXPECT_NE(message.find("job 100000 of 100000"), std::string::npos) << message;
    EXPECT_EQ(count(), 0);

    // Refused by the database (a duplicate id), not by the client: still nothing.
    jobs[99'999].options.max_retries = 0;
    jobs[99'999].id = jobs[0].id;
    EXPECT_THROW(store_->enqueue_batch(jobs), ConstraintError);
    EXPECT_EQ(count(), 0);
    EXPECT_EQ(store_->stats(), QueueStats{});
}

TEST_F(Enqueue, SameIdTwiceIsAConstraintError) {
    auto j = job_of("dup");
    store_->enqueue(j);
    auto message = error_of<ConstraintError>([&] { store_->enqueue(j); });
    EXPECT_NE(message.find("jobs_pkey"), std::string::npos) << message;
    EXPECT_EQ(count(), 1);
}

class BadInput : public StoreTest {};

TEST_F(BadInput, InvalidJsonPayloadNamesTheTypeAndTheByteOffset) {
    auto message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"send_email", R"({"to": "a@b.c",})"}); });
    EXPECT_EQ(message.rfind("payload for job type 'send_email' is not valid JSON: ", 0), 0u) << message;
    EXPECT_NE(message.find("(at byte 15)"), std::string::npos) << message;

    message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"send_email", "[1]"}); });
    EXPECT_EQ(message, "payload for job type 'send_email' must be a JSON object, not an array");
    message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"send_email", ""}); });
    EXPECT_NE(message.find("(at byte 0)"), std::string::npos) << message;
    EXPECT_EQ(count(), 0);
}

TEST_F(BadInput, EmptyJobTypeNegativeRetriesEmptyQueueNegativeDelay) {
    auto message = error_of<UsageError>([&] { store_->enqueue(NewJob{"", "{}"}); });
    EXPECT_NE(message.find("job_type must not be empty"), std::string::npos) << message;

    message = error_of<UsageError>([&] { store_->enqueue(job_of("send_email", {.max_retries = -1})); });
    EXPECT_NE(message.find("'send_email'"), std::string::npos) << message;
    EXPECT_NE(message.find("max_retries must be between 0 and 1000000000, got -1"), std::string::npos) << message;

    message = error_of<UsageError>([&] { store_->enqueue(job_of("send_email", {.queue = ""})); });
    EXPECT_NE(message.find("queue must not be empty"), std::string::npos) << message;

    message = error_of<UsageError>([&] { store_->enqueue(job_of("send_email", {.delay = -5ms})); });
    EXPECT_NE(message.find("delay must not be negative"), std::string::npos) << message;

    auto conn = connect();
    EXPECT_THROW(store_->enqueue_in(conn, NewJob{"", "{}"}), UsageError);
    EXPECT_THROW(store_->enqueue_in(conn.native(), job_of("x", {.max_retries = -3})), UsageError);
    EXPECT_THROW(store_->enqueue(SendEmail{"a", "b"}, {.queue = ""}), UsageError);
    EXPECT_EQ(count(), 0);
    EXPECT_EQ(store_->stats(), QueueStats{});
}

TEST_F(BadInput, PayloadPostgresRefusesIsAnErrorAndWritesNothing) {
    // Valid JSON that jsonb cannot store (\u0000 has no text form): refused
    // before anything is sent, naming the type and where.
    auto message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"nul", R"({"s":"a\u0000b"})"}); });
    EXPECT_NE(message.find("payload for job type 'nul'"), std::string::npos) << message;
    EXPECT_NE(message.find("\\u0000"), std::string::npos) << message;
    message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"nul", R"({"a\u0000":1})"}); });
    EXPECT_NE(message.find("\\u0000"), std::string::npos) << message;
    std::vector<NewJob> batch = {job_of("ok"), NewJob{"nul", R"({"s":"\u0000"})"}};
    EXPECT_THROW(store_->enqueue_batch(batch), PayloadError);
    EXPECT_EQ(count(), 0);
    // Invalid UTF-8: refused with the offset, nothing written.
    message = error_of<PayloadError>([&] { store_->enqueue(NewJob{"utf8", "{\"s\":\"\xff\"}"}); });
    EXPECT_NE(message.find("payload for job type 'utf8' is not valid JSON"), std::string::npos) << message;
    EXPECT_EQ(count(), 0);
    // Other escapes are fine.
    auto id = store_->enqueue(NewJob{"esc", R"({"s":"\u0001\u00e9\ud83d\ude00"})"});
    EXPECT_TRUE(store_->get_job(id).has_value());
}

TEST_F(BadInput, UnreachableDatabaseUrlThrowsConnectionErrorWithTheReason) {
    auto message = error_of<ConnectionError>([] { PgPool pool("postgresql://postgres@127.0.0.1:1/seesaw"); });
    EXPECT_NE(message.find("cannot connect to the database"), std::string::npos) << message;
    EXPECT_NE(message.find("Connection refused"), std::string::npos) << message;

    message = error_of<ConnectionError>([] { PgPool pool("postgresql://postgres@host.invalid/seesaw"); });
    EXPECT_NE(message.find("host.invalid"), std::string::npos) << message;

    if (url_.find('?') == std::string::npos) {  // a URL we can point at another database
        message = error_of<ConnectionError>([&] { PgPool pool(url_ + "_no_such_database"); });
        EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
    }

    EXPECT_THROW(PgPool("not a url at all"), ConnectionError);
    EXPECT_EQ(count(), 0);
}

TEST_F(BadInput, CheckConstraintsRefuseBadRowsFromPlainSql) {
    auto refused = [&](const std::string& statement, const std::string& constraint) {
        auto message = error_of<ConstraintError>([&] { sql(statement); });
        EXPECT_NE(message.find(constraint), std::string::npos) << statement << ": " << message;
    };
    refused("INSERT INTO jobs (job_type, payload) VALUES ('', '{}')", "jobs_job_type_not_empty");
    refused("INSERT INTO jobs (job_type, payload, max_retries) VALUES ('x', '{}', -1)",
            "jobs_max_retries_not_negative");
    refused("INSERT INTO jobs (job_type, payload, queue) VALUES ('x', '{}', '')", "jobs_queue_not_empty");
    refused("INSERT INTO jobs (job_type, payload, attempt) VALUES ('x', '{}', 0)", "jobs_attempt_positive");
    refused("INSERT INTO jobs (job_type, payload, status) VALUES ('x', '{}', 'running')", "jobs_running_has_lease");
    EXPECT_THROW(sql("INSERT INTO jobs (job_type, payload) VALUES (NULL, '{}')"), ConstraintError);
    EXPECT_THROW(sql("INSERT INTO jobs (job_type, payload) VALUES ('x', '{oops')"), SqlError);
    EXPECT_EQ(count(), 0);

    auto id = store_->enqueue(job_of("ok"));
    refused("UPDATE jobs SET max_retries = -2", "jobs_max_retries_not_negative");
    EXPECT_EQ(job(id).max_retries, 3);
}

TEST_F(BadInput, ConstraintErrorCarriesTheSqlState) {
    try {
        sql("INSERT INTO jobs (job_type, payload) VALUES ('', '{}')");
        FAIL() << "accepted an empty job_type";
    } catch (const ConstraintError& e) {
        EXPECT_EQ(e.sqlstate(), "23514");
        EXPECT_NE(e.query().find("INSERT INTO jobs"), std::string::npos);
    }
    try {
        sql("SELECT * FROM no_such_table");
        FAIL();
    } catch (const SqlError& e) {
        EXPECT_EQ(e.sqlstate(), "42P01");
        EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos);
    }
}

// A NUL byte ends a text parameter: the rest would be dropped silently.
TEST_F(BadInput, NulBytesInATypeQueueOrPayloadAreRefusedOnEveryPath) {
    using namespace std::string_literals;
    const std::vector<NewJob> bad = {
        job_of("chaos\0evil"s),
        job_of("chaos", {.queue = "q\0evil"s}),
        job_of("chaos", {}, "{\"a\": 1}\0{\"b\": 2}"s),
    };
    const std::vector<std::string> named = {"job_type", "queue", "payload"};
    for (std::size_t i = 0; i < bad.size(); ++i) {
        SCOPED_TRACE(named[i]);
        auto message = error_of<Error>([&] { store_->enqueue(bad[i]); });
        EXPECT_NE(message.find(named[i]), std::string::npos) << message;
        EXPECT_NE(message.find("NUL"), std::string::npos) << message;
        std::vector<NewJob> batch = {job_of("fine"), bad[i]};
        message = error_of<Error>([&] { store_->enqueue_batch(batch); });
        EXPECT_NE(message.find("job 2 of 2"), std::string::npos) << message;
        auto conn = connect();
        EXPECT_THROW(store_->enqueue_in(conn, bad[i]), Error);
        EXPECT_THROW(store_->enqueue_in(conn.native(), bad[i]), Error);
    }
    EXPECT_EQ(count(), 0);
}

TEST_F(BadInput, TimesThatOverflowAreRefusedNamingTheField) {
    auto message = error_of<UsageError>([&] { store_->enqueue(job_of("t", {.run_at = Timestamp::min()})); });
    EXPECT_NE(message.find("run_at must be between 0001-01-01 and 294247-01-01"), std::string::npos) << message;
    message = error_of<UsageError>([&] { store_->enqueue(job_of("t", {.run_at = Timestamp::max()})); });
    EXPECT_NE(message.find("run_at"), std::string::npos) << message;
    message = error_of<UsageError>([&] { store_->enqueue(job_of("t", {.delay = std::chrono::milliseconds::max()})); });
    EXPECT_NE(message.find("delay"), std::string::npos) << message;
    EXPECT_NE(message.find("294247-01-01"), std::string::npos) << message;
    std::vector<NewJob> batch = {job_of("t", {.run_at = Timestamp::min()})};
    EXPECT_THROW(store_->enqueue_batch(batch), UsageError);
    EXPECT_EQ(count(), 0);
    // The edges are accepted and read back exactly.
    auto first = store_->enqueue(job_of("t", {.run_at = earliest_run_at}));
    auto last = store_->enqueue(job_of("t", {.run_at = latest_run_at - std::chrono::microseconds(1)}));
    EXPECT_EQ(job(first).run_at, earliest_run_at);
    EXPECT_EQ(job(last).run_at, latest_run_at - std::chrono::microseconds(1));
}

TEST_F(BadInput, NamesLongerThanTheLimitsAreRefusedAndTheLimitsWork) {
    auto message =
        error_of<UsageError>([&] { store_->enqueue(job_of("t", {.queue = std::string(max_queue_name_bytes + 1, 'q')})); });
    EXPECT_NE(message.find("queue is 129 bytes long; at most 128"), std::string::npos) << message;
    message = error_of<UsageError>([&] { store_->enqueue(job_of(std::string(max_job_type_bytes + 1, 't'))); });
    EXPECT_NE(message.find("job_type is 256 bytes long; at most 255"), std::string::npos) << message;
    message = error_of<UsageError>([&] { store_->enqueue(job_of("t", {.queue = "\xff\xfe"})); });
    EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
    EXPECT_EQ(count(), 0);
    store_->enqueue(job_of(std::string(max_job_type_bytes, 't'), {.queue = std::string(max_queue_name_bytes, 'q')}));
    EXPECT_EQ(count(), 1);
}

}  // namespace
}  // namespace seesaw::test

#include <mutex>
#include <thread>

#include "malformed_conninfos.hpp"
#include "pg_connection.hpp"
#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class Pool : public StoreTest {};

TEST_F(Pool, RefusesZeroConnections) {
    EXPECT_THROW(PgPool(url_, PgPoolOptions{.max_connections = 0}), UsageError);
}

TEST_F(Pool, ReusesConnectionsAndCopiesShareOnePool) {
    PgPool pool(url_, {.max_connections = 1, .acquire_timeout = 30s});
    std::string first_pid;
    {
        auto c = pool.acquire();
        first_pid = c->execute("SELECT pg_backend_pid()").get(0, 0);
    }
    PgPool copy = pool;
    auto c = copy.acquire();
    EXPECT_EQ(c->execute("SELECT pg_backend_pid()").get(0, 0), first_pid);
    EXPECT_EQ(copy.conninfo(), url_);
    EXPECT_EQ(copy.options().max_connections, 1u);
}

TEST_F(Pool, WaitsForAConnectionThenTimesOutNamingTheLimit) {
    PgPool pool(url_, {.max_connections = 1, .acquire_timeout = 100ms});
    auto held = pool.acquire();
    auto message = error_of<ConnectionError>([&] { pool.acquire(); });
    EXPECT_NE(message.find("all 1 are in use"), std::string::npos) << message;

    // A connection given back in time is handed to the waiter.
    PgPool patient(url_, {.max_connections = 1, .acquire_timeout = 60s});
    auto busy = std::make_unique<PooledConnection>(patient.acquire());
    std::thread waiter([&] {
        auto c = patient.acquire();
        EXPECT_EQ(c->execute("SELECT 1").get(0, 0), "1");
    });
    busy.reset();
    waiter.join();
}

TEST_F(Pool, ReassigningAPooledConnectionGivesTheOldOneBack) {
    PgPool pool(url_, {.max_connections = 2, .acquire_timeout = 2s});
    auto c = pool.acquire();
    for (int i = 0; i < 5; ++i) {
        ASSERT_NO_THROW(c = pool.acquire()) << "round " << i << ": the pool lost a connection";
    }
    auto other = pool.acquire();  // the second slot is still free
    EXPECT_EQ(other->execute("SELECT 1").get(0, 0), "1");
}

TEST_F(Pool, AConnectionLeftInATransactionIsRolledBackBeforeReuse) {
    PgPool pool(url_, {.max_connections = 1});
    {
        auto c = pool.acquire();
        c->execute("BEGIN");
        c->execute("INSERT INTO " + quote_identifier(schema_) + ".jobs (job_type, payload) VALUES ('x', '{}')");
    }  // returned mid-transaction
    auto c = pool.acquire();
    EXPECT_FALSE(c->in_transaction());
    EXPECT_EQ(count(), 0);
}

TEST_F(Pool, DropsAConnectionTheServerClosed) {
    PgPool pool(url_, {.max_connections = 1});
    auto store = PgJobStore(pool, PgJobStoreOptions{.schema = schema_, .transaction_pooling = pooled()});
    std::string pid = std::string(pool.acquire()->execute("SELECT pg_backend_pid()").get(0, 0));
    auto admin = connect();
    admin.execute("SELECT pg_terminate_backend($1::int)", {pid});
    ASSERT_TRUE(poll_until([&] {
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", {pid}).get(0, 0) == "0";
    }));
    // The pool notices the dead connection and opens a new one.
    auto id = store.enqueue(job_of("after a restart"));
    EXPECT_TRUE(store.get_job(id).has_value());
    EXPECT_NE(pool.acquire()->execute("SELECT pg_backend_pid()").get(0, 0), pid);
}

TEST_F(Pool, ManyThreadsShareASmallPool) {
    PgPool pool(url_, {.max_connections = 3});
    auto store = PgJobStore(pool, PgJobStoreOptions{.schema = schema_, .transaction_pooling = pooled()});
    std::vector<std::thread> threads;
    std::vector<std::string> errors(8);
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int i = 0; i < 50; ++i) store.enqueue(job_of("shared"));
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors) EXPECT_EQ(e, "");
    EXPECT_EQ(count(), 400);
    EXPECT_EQ(store.stats().pending, 400);
}

class ConnectionApi : public StoreTest {};

TEST_F(ConnectionApi, ResultsParamsAndNulls) {
    auto conn = connect();
    EXPECT_TRUE(conn.is_open());
    EXPECT_TRUE(conn.check_alive());
    auto r = conn.execute("SELECT $1::text AS a, $2::int8 AS b, NULL::text AS c", {"x", "42"});
    EXPECT_EQ(r.rows(), 1u);
    EXPECT_EQ(r.columns(), 3u);
    EXPECT_EQ(r.column_name(0), "a");
    EXPECT_EQ(r.get(0, 0), "x");
    EXPECT_EQ(r.get_int64(0, 1), 42);
    EXPECT_TRUE(r.is_null(0, 2));
    EXPECT_EQ(r.get_optional(0, 2), std::nullopt);
    EXPECT_EQ(r.get_optional(0, 0), std::optional<std::string_view>("x"));
    EXPECT_THROW(r.get_int64(0, 0), Error);  // not an integer

    auto nulls = conn.execute("SELECT $1::text IS NULL", {std::nullopt});
    EXPECT_EQ(nulls.get(0, 0), "t");

    // A parameter is exactly its view, not what follows it in memory.
    const std::string buffer = "abcdef";
    auto sliced = conn.execute("SELECT $1::text", {std::string_view(buffer.data(), 3)});
    EXPECT_EQ(sliced.get(0, 0), "abc");
    auto prepared = conn.execute_prepared("slice", "SELECT $1::text || '!'",
                                          std::vector<Param>{std::string_view(buffer.data() + 3, 2)});
    EXPECT_EQ(prepared.get(0, 0), "de!");
    prepared = conn.execute_prepared("slice", "SELECT $1::text || '!'", std::vector<Param>{"again"});
    EXPECT_EQ(prepared.get(0, 0), "again!");

    conn.execute("CREATE TEMP TABLE t (n int)");
    auto inserted = conn.execute("INSERT INTO t SELECT generate_series(1, 7)");
    EXPECT_EQ(inserted.affected_rows(), 7u);
    EXPECT_EQ(conn.execute("SELECT 1; SELECT 2").get(0, 0), "2");  // the last result
}

TEST_F(ConnectionApi, TransactionCommitsOrRollsBack) {
    auto conn = connect();
    const std::string table = quote_identifier(schema_) + ".tx_probe";
    conn.execute("CREATE TABLE " + table + " (n int)");
    {
        Transaction tx(conn);
        EXPECT_TRUE(conn.in_transaction());
        conn.execute("INSERT INTO " + table + " VALUES (1)");
    }
    EXPECT_FALSE(conn.in_transaction());
    {
        Transaction tx(conn);
        conn.execute("INSERT INTO " + table + " VALUES (2)");
        tx.commit();
    }
    {
        Transaction tx(conn);
        conn.execute("INSERT INTO " + table + " VALUES (3)");
        tx.rollback();
    }
    {
        // A failed statement aborts the transaction; the destructor still cleans up.
        Transaction tx(conn);
        EXPECT_THROW(conn.execute("SELECT * FROM no_such_table"), SqlError);
    }
    EXPECT_FALSE(conn.in_transaction());
    EXPECT_EQ(conn.execute("SELECT string_agg(n::text, ',') FROM " + table).get(0, 0), "2");
}

TEST_F(ConnectionApi, QuotesIdentifiers) {
    EXPECT_EQ(quote_identifier("jobs"), "\"jobs\"");
    EXPECT_EQ(quote_identifier("my \"odd\" name"), "\"my \"\"odd\"\" name\"");
}

TEST_F(ConnectionApi, SessionTimeZoneDoesNotShiftTimes) {
    auto conn = connect();
    conn.execute("SET TIME ZONE 'America/New_York'");
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(client_now() + 3h);
    auto id = store_->enqueue_in(conn, job_of("tz", {.run_at = at}));
    EXPECT_EQ(job(id).run_at, at);
}

// --- Credentials stay out of messages ---------------------------------------------

// Captures everything seesaw logs while it lives.
class LogCapture {
public:
    LogCapture() : level_(log_level()) {
        set_log_level(LogLevel::trace);
        set_logger([this](LogLevel, std::string_view message) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(message);
        });
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    ~LogCapture() {
        set_logger(nullptr);
        set_log_level(level_);
    }

    std::vector<std::string> lines() {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    LogLevel level_;
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

std::vector<MalformedConninfo> malformed_cases() {
    auto cases = malformed_conninfos(database_url());
    if (cases.empty()) ADD_FAILURE() << "these cases need the test database as a postgresql:// URL";
    return cases;
}

TEST(ConnectionErrors, OpenAndThePoolNameTheProblemButNotThePassword) {
    for (const auto& bad : malformed_cases()) {
        for (const auto& message : {error_of<ConnectionError>([&] { Connection::open(bad.conninfo); }),
                                    error_of<ConnectionError>([&] { PgPool pool(bad.conninfo); })}) {
            EXPECT_EQ(message.find(bad.password), std::string::npos) << bad.conninfo << " -> " << message;
            EXPECT_NE(message.find(bad.reason), std::string::npos) << bad.conninfo << " -> " << message;
            EXPECT_NE(message.find("cannot connect to the database"), std::string::npos) << message;
        }
    }
}

// The dispatcher's three connections are detail::PgConnection: what they log
// and what they report as lost (the Disconnected event's error) must not
// carry the password either. (A Dispatcher needs a PgPool, which cannot be
// made from these conninfos: drive the connection itself on a loop.)
TEST(ConnectionErrors, TheDispatchersConnectionsLogAndReportNoPassword) {
    LogCapture log;
    for (const auto& bad : malformed_cases()) {
        uv_loop_t loop;
        ASSERT_EQ(uv_loop_init(&loop), 0);
        std::vector<std::string> lost;
        bool connected = false;
        bool closed = false;
        detail::PgConnection* connection = nullptr;
        auto stop = [&] { connection->close([&] { closed = true; }); };
        detail::PgConnection::Callbacks callbacks;
        callbacks.connected = [&] {
            connected = true;
            stop();
        };
        callbacks.lost = [&](const std::string& error) {
            lost.push_back(error);
            stop();
        };
        {
            detail::PgConnection claim(&loop, "claim", bad.conninfo, std::move(callbacks));
            connection = &claim;
            claim.open();
            uv_run(&loop, UV_RUN_DEFAULT);  // until it is closed, after its first failure
        }
        EXPECT_TRUE(closed);
        EXPECT_FALSE(connected) << bad.conninfo;
        ASSERT_EQ(lost.size(), 1u) << bad.conninfo;
        EXPECT_EQ(lost[0].find(bad.password), std::string::npos) << bad.conninfo << " -> " << lost[0];
        EXPECT_NE(lost[0].find(bad.reason), std::string::npos) << bad.conninfo << " -> " << lost[0];
        EXPECT_EQ(uv_loop_close(&loop), 0);
    }
    auto lines = log.lines();
    EXPECT_FALSE(lines.empty());
    for (const auto& line : lines) {
        for (const auto& bad : malformed_cases())
            EXPECT_EQ(line.find(bad.password), std::string::npos) << line;
    }
}

// A statement the connection lost while it ran may have committed: the
// synchronous API says so with InDoubtError; one sent on a connection that
// was already gone did nothing, and is a plain ConnectionError.
TEST_F(ConnectionApi, AStatementCutOffWhileItRanIsInDoubt) {
    auto conn = connect();
    const auto pid = conn.execute("SELECT pg_backend_pid()").get_int64(0, 0);
    std::thread terminator([&] {
        auto admin = connect();
        poll_until([&] {
            return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int AND state = 'active'",
                                 {std::to_string(pid)})
                       .get_int64(0, 0) == 1;
        });
        admin.execute("SELECT pg_terminate_backend($1::int)", {std::to_string(pid)});
    });
    auto message = error_of<InDoubtError>([&] { conn.execute("SELECT pg_sleep(30)"); });
    terminator.join();
    EXPECT_NE(message.find("may have committed"), std::string::npos) << message;
    try {
        conn.execute("SELECT 1");
        ADD_FAILURE() << "a broken connection ran a statement";
    } catch (const InDoubtError& e) {
        ADD_FAILURE() << "nothing was sent, yet it is in doubt: " << e.what();
    } catch (const ConnectionError&) {
    }
}

}  // namespace
}  // namespace seesaw::test

#pragma once
// Integration tests run against the real PostgreSQL the test script started
// (SEESAW_TEST_DATABASE_URL, else SEESAW_DATABASE_URL). Each test gets its
// own freshly migrated schema, dropped afterwards.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "pooling_env.hpp"
#include "seesaw/seesaw.hpp"

namespace seesaw::test {

// The database URL; fails the test (not skips) when none is configured.
std::string database_url();

// Through a pooler (pooling_env.hpp), what needs a session of its own
// (LISTEN, the tests' own SQL with its search_path) uses direct_url(), the
// server's own URL (SEESAW_TEST_DIRECT_DATABASE_URL).
std::string direct_url();
// A test of something a pooler in transaction mode cannot do skips itself
// there, saying what (GTEST_SKIP).
#define SEESAW_SKIP_WHEN_POOLED(why) \
    if (::seesaw::test::pooled()) GTEST_SKIP() << "through a pooler in transaction mode: " << (why)
#define SEESAW_SKIP_WHEN_POLL_ONLY(why) \
    if (::seesaw::test::poll_only()) GTEST_SKIP() << "dispatchers poll only: " << (why)

// A unique schema name: t_<test name>_<random>.
std::string unique_schema_name();

class SchemaTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // A new connection of its own (not from the pool), to the server itself.
    Connection connect() const { return Connection::open(direct_url_); }
    // Runs SQL on a fresh connection with search_path set to the schema.
    QueryResult sql(const std::string& statement, std::initializer_list<Param> params = {});
    std::int64_t count(const std::string& where = "true");

    PgJobStore make_store(PgJobStoreOptions options = {});

    std::string url_;         // what the stores under test use (perhaps a pooler)
    std::string direct_url_;  // the server itself
    std::string schema_;
    std::optional<PgPool> pool_;
    std::optional<PgJobStore> store_;

private:
    std::optional<Connection> admin_;
};

// Waits for a condition signalled from another thread, with a deadline (no
// sleeps). notify() after changing what the predicate reads.
class Signal {
public:
    void notify() {
        { std::lock_guard lock(mutex_); }
        cv_.notify_all();
    }
    template <class Pred>
    bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, pred);
    }
    std::mutex& mutex() { return mutex_; }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
};

// Calls `done` until it returns true or the deadline passes; returns its
// last answer. For conditions that only the database can tell.
inline bool poll_until(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
    }
}

// The message of the exception of type E that f throws (fails the test
// otherwise).
template <class E, class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "did not throw";
    return {};
}

}  // namespace seesaw::test

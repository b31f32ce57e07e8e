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

#include "seesaw/seesaw.hpp"

namespace seesaw::test {

// The database URL; fails the test (not skips) when none is configured.
std::string database_url();

// A unique schema name: t_<test name>_<random>.
std::string unique_schema_name();

class SchemaTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // A new connection of its own (not from the pool).
    Connection connect() const { return Connection::open(url_); }
    // Runs SQL on a fresh connection with search_path set to the schema.
    QueryResult sql(const std::string& statement, std::initializer_list<Param> params = {});
    std::int64_t count(const std::string& where = "true");

    PgJobStore make_store(PgJobStoreOptions options = {});

    std::string url_;
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

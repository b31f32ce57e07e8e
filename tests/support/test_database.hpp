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

}  // namespace seesaw::test

#pragma once
// How the tests reach the database when the suites run through a pooler
// (tests/pgbouncer/run.sh): read from the environment, shared by the test
// fixtures and the test worker process (which has no GoogleTest).
//   SEESAW_TEST_POOLER=1                  stores use transaction_pooling
//   SEESAW_TEST_POLL_ONLY=1               dispatchers poll only
//   SEESAW_TEST_LISTEN_DATABASE_URL=URL   dispatchers LISTEN there (direct)

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "seesaw/seesaw.hpp"

namespace seesaw::test {

inline bool env_is_1(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string_view(v) == "1";
}

// Through a pooler in transaction mode: stores are made with
// PgJobStoreOptions::transaction_pooling.
inline bool pooled() { return env_is_1("SEESAW_TEST_POOLER"); }
// Dispatchers poll only: no LISTEN connection.
inline bool poll_only() { return env_is_1("SEESAW_TEST_POLL_ONLY"); }

// The options a dispatcher under test runs with: a direct LISTEN connection
// (SEESAW_TEST_LISTEN_DATABASE_URL), or none and a short poll.
inline DispatcherOptions as_configured(DispatcherOptions options) {
    if (poll_only()) {
        options.listen = false;
        options.listen_database_url.clear();
        options.poll_interval = std::min(options.poll_interval, std::chrono::milliseconds(100));
    } else if (const char* url = std::getenv("SEESAW_TEST_LISTEN_DATABASE_URL");
               url != nullptr && *url != '\0' && options.listen && options.listen_database_url.empty()) {
        options.listen_database_url = url;
    }
    return options;
}

}  // namespace seesaw::test

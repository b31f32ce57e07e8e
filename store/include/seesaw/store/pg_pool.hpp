#pragma once
// PgPool: a small thread-safe pool of blocking libpq connections. A PgPool is
// a handle: copies share one pool (like sqlx's PgPool in the seed).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "seesaw/store/connection.hpp"

namespace seesaw {

struct PgPoolOptions {
    std::size_t max_connections = 10;
    // How long acquire() waits for a free connection before it throws.
    std::chrono::milliseconds acquire_timeout{30'000};
};

namespace detail {
struct PoolState;
}

// A connection borrowed from a pool; returned when destroyed. A connection
// that broke, or was left inside a transaction, is not reused.
class PooledConnection {
public:
    PooledConnection(std::shared_ptr<detail::PoolState> pool, std::unique_ptr<Connection> connection) noexcept;
    PooledConnection(PooledConnection&&) noexcept = default;
    // Gives the connection held so far back to its pool first.
    PooledConnection& operator=(PooledConnection&& other) noexcept;
    ~PooledConnection();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

private:
    std::shared_ptr<detail::PoolState> pool_;
    std::unique_ptr<Connection> connection_;
};

class PgPool {
public:
    // conninfo: a postgresql:// URL or "key=value" pairs (libpq's syntax).
    // Opens one connection at once, so a bad URL fails here with
    // ConnectionError naming the reason.
    explicit PgPool(std::string conninfo, PgPoolOptions options = {});

    PooledConnection acquire();
    const std::string& conninfo() const noexcept;
    const PgPoolOptions& options() const noexcept;

private:
    std::shared_ptr<detail::PoolState> state_;
};

}  // namespace seesaw

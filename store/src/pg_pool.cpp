#include "seesaw/store/pg_pool.hpp"

#include <libpq-fe.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace detail {

struct PoolState {
    std::string conninfo;
    PgPoolOptions options;
    std::mutex mutex;
    std::condition_variable released;
    std::vector<std::unique_ptr<Connection>> idle;  // guarded by mutex
    std::size_t open = 0;                           // connections lent or idle; guarded by mutex

    void give_back(std::unique_ptr<Connection> connection) noexcept {
        // A connection left in a transaction or broken is closed, not reused.
        bool reusable = connection && connection->is_open();
        if (reusable && connection->in_transaction()) {
            try {
                connection->execute("ROLLBACK");
            } catch (...) {
                reusable = false;
            }
        }
        if (!reusable) connection.reset();
        {
            std::lock_guard lock(mutex);
            if (connection)
                idle.push_back(std::move(connection));
            else
                --open;
        }
        released.notify_one();
    }
};

}  // namespace detail

PooledConnection::PooledConnection(std::shared_ptr<detail::PoolState> pool,
                                   std::unique_ptr<Connection> connection) noexcept
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
    if (this != &other) {
        if (pool_ && connection_) pool_->give_back(std::move(connection_));
        pool_ = std::move(other.pool_);
        connection_ = std::move(other.connection_);
    }
    return *this;
}

PooledConnection::~PooledConnection() {
    if (pool_ && connection_) pool_->give_back(std::move(connection_));
}

PgPool::PgPool(std::string conninfo, PgPoolOptions options) : state_(std::make_shared<detail::PoolState>()) {
    if (options.max_connections == 0) throw UsageError("PgPoolOptions::max_connections must be at least 1");
    state_->conninfo = std::move(conninfo);
    state_->options = options;
    // Fail here, with libpq's reason, when the database cannot be reached.
    state_->idle.push_back(std::make_unique<Connection>(Connection::open(state_->conninfo)));
    state_->open = 1;
}

PooledConnection PgPool::acquire() {
    auto& s = *state_;
    std::unique_lock lock(s.mutex);
    auto deadline = std::chrono::steady_clock::now() + s.options.acquire_timeout;
    while (true) {
        while (!s.idle.empty()) {
            auto connection = std::move(s.idle.back());
            s.idle.pop_back();
            if (connection->check_alive()) return PooledConnection(state_, std::move(connection));
            --s.open;  // the server closed it (restart, pg_terminate_backend): drop it
        }
        if (s.open < s.options.max_connections) {
            ++s.open;
            lock.unlock();
            try {
                auto connection = std::make_unique<Connection>(Connection::open(s.conninfo));
                return PooledConnection(state_, std::move(connection));
            } catch (...) {
                lock.lock();
                --s.open;
                throw;
            }
        }
        if (s.released.wait_until(lock, deadline) == std::cv_status::timeout && s.idle.empty() &&
            s.open >= s.options.max_connections) {
            throw ConnectionError("no free database connection within " +
                                  std::to_string(s.options.acquire_timeout.count()) +
                                  " ms: all " + std::to_string(s.options.max_connections) + " are in use");
        }
    }
}

const std::string& PgPool::conninfo() const noexcept { return state_->conninfo; }
const PgPoolOptions& PgPool::options() const noexcept { return state_->options; }

}  // namespace seesaw

#pragma once
// PgConnection: one libpq connection driven by a libuv loop, never blocking.
// Non-blocking libpq in pipeline mode (a Sync after every statement, so each
// statement is its own transaction and an error never spills into the next),
// a uv_poll_t on PQsocket, and reconnection with jittered exponential backoff.
//
// Threading: every member is owned by the loop thread; nothing here may be
// touched from another thread.

#include <libpq-fe.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "pg.hpp"

namespace seesaw::detail {

class PgConnection {
public:
    // result: the statement's result (never null), or error set.
    using Done = std::function<void(PGresult* result, std::exception_ptr error)>;

    struct Statement {
        std::string prepared_name;  // prepared once per connection; empty: unnamed
        const std::string* sql = nullptr;  // read during send() only
        std::vector<std::string> params;
        std::vector<bool> null_params;  // same size as params, or empty (no NULLs)
        Done done;
    };

    struct Callbacks {
        std::function<void()> connected;                        // usable: send statements
        std::function<void(const std::string& error)> lost;     // pending statements already failed
        std::function<void(PGnotify* notification)> notified;  // LISTEN deliveries
    };

    PgConnection(uv_loop_t* loop, std::string name, std::string conninfo, Callbacks callbacks);
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection();

    // Starts connecting (and reconnecting after losses) until close().
    void open();
    // Closes the socket's handle and the connection; no more reconnects.
    // Pending statements fail. `closed` runs once every handle is closed.
    void close(std::function<void()> closed);

    bool connected() const noexcept { return state_ == State::connected; }
    // Sends now; the connection must be connected().
    void send(Statement statement);
    std::size_t pending() const noexcept { return pending_.size(); }
    const std::string& name() const noexcept { return name_; }
    // How many times the connection came back after a loss; for the last
    // time: the connection attempts it took and how long it was down.
    std::uint32_t reconnects() const noexcept { return reconnects_; }
    std::uint32_t last_attempts() const noexcept { return last_attempts_; }
    std::chrono::milliseconds last_downtime() const noexcept { return last_downtime_; }
    // Drops the connection as if the server had (for a statement timeout).
    void fail(const std::string& reason);

private:
    enum class State { idle, connecting, connected, waiting, closing, closed };

    struct Pending {
        Done done;
        pg::ResultPtr result;
        bool internal = false;      // a PREPARE sent on the statement's behalf
        std::string prepared_name;  // with internal: forgotten again if it fails
    };

    static void on_poll(uv_poll_t* handle, int status, int events);
    static void on_retry(uv_timer_t* timer);

    void start_connect();
    void continue_connect();
    void watch(int events);
    void close_poll();
    void on_socket(int status, int events);
    void read();
    void flush();
    void lost(const std::string& reason);

    uv_loop_t* loop_;
    std::string name_;
    std::string conninfo_;
    Callbacks callbacks_;

    State state_ = State::idle;
    PGconn* conn_ = nullptr;
    uv_poll_t* poll_ = nullptr;  // heap: freed in its close callback; one per socket
    int poll_fd_ = -1;
    int poll_events_ = 0;
    uv_timer_t retry_timer_{};
    std::deque<Pending> pending_;
    std::unordered_set<std::string> prepared_;
    std::chrono::milliseconds backoff_{0};
    std::chrono::steady_clock::time_point lost_at_{};
    bool ever_connected_ = false;
    std::uint32_t reconnects_ = 0;
    std::uint32_t attempts_since_loss_ = 0;
    std::uint32_t last_attempts_ = 0;
    std::chrono::milliseconds last_downtime_{0};
    int open_handles_ = 0;  // retry timer + poll handle not yet closed
    std::function<void()> closed_;
};

}  // namespace seesaw::detail

#pragma once
// PgConnection: one libpq connection driven by a libuv loop, never blocking,
// behind the Statements interface. Non-blocking libpq in pipeline mode (a
// Sync after every statement, so each statement is its own transaction and
// an error never spills into the next), a uv_poll_t on PQsocket, and
// reconnection with jittered exponential backoff.
//
// A statement that does not succeed fails with (FailureKind):
//   not_sent  sent while not connected (at once, from inside send()), or its
//             own send failed before its Sync left: it cannot have committed
//   rejected  the server answered with an error (and its Sync came back)
//   in_doubt  it was handed to libpq, and the connection broke (or close()
//             was called) before its Sync came back: it may have committed
//
// Handles: the retry timer and the socket's poll are UvHandles, freed in
// their close callbacks. close() closes both, so the connection may be
// destroyed as soon as close() returns; `closed` still runs once libuv is
// done with them. Destroying it without close() is a bug: it is logged, and
// the handles are closed all the same.
//
// Threading: every member is owned by the loop thread; nothing here may be
// touched from another thread.

#include <libpq-fe.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "pg.hpp"
#include "statements.hpp"
#include "uv_handle.hpp"

namespace seesaw::detail {

class PgConnection final : public Statements {
public:
    struct Callbacks {
        std::function<void()> connected;                        // usable: send statements
        std::function<void(const std::string& error)> lost;     // pending statements already failed
        std::function<void(PGnotify* notification)> notified;  // LISTEN deliveries
    };

    // Per connection, not per session: nothing here is session state that a
    // pooler in transaction mode (PgBouncer) would leak to its other clients.
    struct Settings {
        // Statements with a prepared_name are prepared once per connection.
        // false (PgBouncer before 1.21 in transaction mode: a prepared
        // statement lives on whichever server connection ran the PREPARE):
        // every statement goes unnamed. Also turned off for good, with a
        // warning, the first time the server says a statement this
        // connection prepared does not exist.
        bool prepare = true;
        // GUCs sent in the startup packet's `options` ("-c name=value ..."),
        // ahead of any the user's conninfo gives. Empty: none (a pooler such
        // as PgBouncer 1.18 refuses an `options` it does not know).
        std::string startup_options = {};
        // SQL sent ahead of every statement in the same implicit transaction
        // (no Sync between): settings for that transaction alone, e.g.
        // "SELECT set_config('enable_seqscan', 'off', true)". Its answer is
        // not the statement's. Empty: none.
        std::string transaction_setup = {};
        // Becomes transaction_setup when the startup options are refused.
        std::string transaction_setup_if_refused = {};
        // Send statements while earlier ones are in flight. false: one at a
        // time, the next once the last one's Sync came back (a pooler that
        // hands the server connection back at the end of each transaction,
        // PgBouncer 1.18, drops the answers to pipelined statements).
        bool pipeline = true;
    };

    // Throws seesaw::Error when its retry timer cannot be made.
    PgConnection(uv_loop_t* loop, std::string name, std::string conninfo, Callbacks callbacks, Settings settings);
    PgConnection(uv_loop_t* loop, std::string name, std::string conninfo, Callbacks callbacks)
        : PgConnection(loop, std::move(name), std::move(conninfo), std::move(callbacks), Settings()) {}
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection() override;

    // Starts connecting (and reconnecting after losses) until close().
    void open();
    // Closes the socket's handle and the connection; no more reconnects.
    // Pending statements fail (in_doubt). `closed` runs once every handle is
    // closed, even if the connection was destroyed in between.
    void close(std::function<void()> closed);

    void send(Statement statement) override;
    const std::string& name() const noexcept { return name_; }
    bool connected() const noexcept { return state_ == State::connected; }
    // How many times the connection came back after a loss; for the last
    // time: the connection attempts it took and how long it was down.
    std::uint32_t reconnects() const noexcept { return reconnects_; }
    std::uint32_t last_attempts() const noexcept { return last_attempts_; }
    std::chrono::milliseconds last_downtime() const noexcept { return last_downtime_; }

private:
    enum class State { idle, connecting, connected, waiting, closed };

    struct Pending {
        std::function<void(const PGresult*, const StatementFailure*)> done;
        pg::ResultPtr result;
        bool internal = false;      // a PREPARE sent on the statement's behalf
        std::string prepared_name;  // the prepared statement it runs (internal: prepares)
        bool sent = true;           // false: its Sync never left (not_sent if the connection goes)
        int skip_results = 0;       // answers of the transaction setup ahead of it
        // Its PREPARE failed: the reason, instead of "prepared statement does not exist".
        std::optional<StatementFailure> prepare_failed;
    };

    static void on_poll(uv_poll_t* handle, int status, int events);
    static void on_retry(uv_timer_t* timer);

    void start_connect();
    void continue_connect();
    void watch(int events);
    void close_poll(std::function<void()> closed = nullptr);
    void on_socket(int status, int events);
    void read();
    void flush();
    void lost(const std::string& reason);
    void connect_failed(const std::string& reason);
    void transmit(Statement statement);
    bool send_transaction_setup();
    // !pipeline: sends the next queued statement once nothing is in flight.
    void send_queued();
    // Fails the statements that never left (not_sent).
    void fail_queued(const std::string& message);
    // The name a statement is prepared under on the server.
    const std::string& server_name(const Statement& statement);
    // The server lost a statement this connection prepared: prepare no more.
    void stop_preparing(const std::string& name);
    // Runs each statement's callback with its failure, in order.
    void fail_statements(std::deque<Pending> statements, const std::string& message);
    StatementFailure rejection(const PGresult* result) const;

    uv_loop_t* loop_;
    std::string name_;
    std::string conninfo_;
    Callbacks callbacks_;
    Settings settings_;

    State state_ = State::idle;
    PGconn* conn_ = nullptr;
    UvHandle<uv_poll_t> poll_;  // one per socket: a new one for a new socket
    int poll_events_ = 0;
    UvHandle<uv_timer_t> retry_timer_;
    std::deque<Pending> pending_;
    std::deque<Statement> queued_;  // !pipeline: waiting for the one in flight
    std::unordered_set<std::string> prepared_;
    std::unordered_map<const std::string*, std::string> server_names_;
    std::chrono::milliseconds backoff_{0};
    std::chrono::steady_clock::time_point lost_at_{};
    bool ever_connected_ = false;
    std::uint32_t reconnects_ = 0;
    std::uint32_t attempts_since_loss_ = 0;
    std::uint32_t last_attempts_ = 0;
    std::chrono::milliseconds last_downtime_{0};
};

}  // namespace seesaw::detail

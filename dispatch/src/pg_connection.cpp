#include "pg_connection.hpp"

#include <algorithm>
#include <random>

#include "redact.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {
namespace {

constexpr std::chrono::milliseconds backoff_min{50};
constexpr std::chrono::milliseconds backoff_max{5000};

std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
    thread_local std::mt19937 generator{std::random_device{}()};
    std::uniform_int_distribution<std::int64_t> spread(d.count() / 2, d.count());
    return std::chrono::milliseconds(spread(generator));
}

std::string trimmed_error(PGconn* conn) {
    std::string text = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text.empty() ? "connection lost" : text;
}

}  // namespace

PgConnection::PgConnection(uv_loop_t* loop, std::string name, std::string conninfo, Callbacks callbacks)
    : loop_(loop), name_(std::move(name)), conninfo_(std::move(conninfo)), callbacks_(std::move(callbacks)) {
    uv_timer_init(loop_, &retry_timer_);
    retry_timer_.data = this;
    open_handles_ = 1;
}

PgConnection::~PgConnection() {
    if (conn_ != nullptr) PQfinish(conn_);
}

void PgConnection::open() {
    if (state_ != State::idle) return;
    start_connect();
}

void PgConnection::start_connect() {
    state_ = State::connecting;
    ++attempts_since_loss_;
    // Dead peers are noticed by TCP keepalives within ~25 s; values in the
    // user's conninfo come later and win.
    const char* keys[] = {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "application_name", "dbname", nullptr};
    // "seesaw-dispatcher listen|claim|complete": each connection's role in
    // pg_stat_activity.
    const std::string application_name = "seesaw-dispatcher " + name_;
    const char* values[] = {"1", "10", "5", "3", application_name.c_str(), conninfo_.c_str(), nullptr};
    conn_ = PQconnectStartParams(keys, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
        lost(trimmed_error(conn_));
        return;
    }
    if (PQsetnonblocking(conn_, 1) != 0) {
        lost(trimmed_error(conn_));
        return;
    }
    // PQconnectStart behaves as if PQconnectPoll last returned WRITING.
    watch(UV_WRITABLE);
}

void PgConnection::continue_connect() {
    switch (PQconnectPoll(conn_)) {
        case PGRES_POLLING_READING: watch(UV_READABLE); return;
        case PGRES_POLLING_WRITING: watch(UV_WRITABLE); return;
        case PGRES_POLLING_FAILED: lost(trimmed_error(conn_)); return;
        case PGRES_POLLING_OK: break;
        default: return;
    }
    if (PQenterPipelineMode(conn_) != 1) {
        lost("cannot enter pipeline mode: " + trimmed_error(conn_));
        return;
    }
    state_ = State::connected;
    backoff_ = std::chrono::milliseconds(0);
    if (ever_connected_) {
        ++reconnects_;
        last_attempts_ = attempts_since_loss_;
        last_downtime_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lost_at_);
    }
    ever_connected_ = true;
    attempts_since_loss_ = 0;
    watch(UV_READABLE);
    if (callbacks_.connected) callbacks_.connected();
}

void PgConnection::watch(int events) {
    int fd = PQsocket(conn_);
    if (fd < 0) {
        lost("connection has no socket");
        return;
    }
    // libpq may switch sockets while connecting (another host or address):
    // one uv_poll_t per socket, a new one for a new socket.
    if (poll_ != nullptr && poll_fd_ != fd) close_poll();
    if (poll_ == nullptr) {
        poll_ = new uv_poll_t;
        if (uv_poll_init(loop_, poll_, fd) != 0) {
            delete poll_;
            poll_ = nullptr;
            lost("cannot watch the connection's socket");
            return;
        }
        poll_->data = this;
        poll_fd_ = fd;
        poll_events_ = 0;
        ++open_handles_;
    }
    if (events != poll_events_) {
        poll_events_ = events;
        uv_poll_start(poll_, events, &PgConnection::on_poll);
    }
}

void PgConnection::close_poll() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    poll_->data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
        auto* self = static_cast<PgConnection*>(handle->data);
        delete reinterpret_cast<uv_poll_t*>(handle);
        if (--self->open_handles_ == 0 && self->closed_) self->closed_();
    });
    poll_ = nullptr;
    poll_fd_ = -1;
    poll_events_ = 0;
}

void PgConnection::on_poll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PgConnection*>(handle->data);
    try {
        self->on_socket(status, events);
    } catch (const std::exception& e) {
        log(LogLevel::error, "dispatcher " + self->name_ + " connection: " + e.what());
    } catch (...) {
        log(LogLevel::error, "dispatcher " + self->name_ + " connection: unknown exception");
    }
}

void PgConnection::on_socket(int status, int events) {
    if (state_ == State::connecting) {
        if (status < 0) {
            lost(std::string("socket error while connecting: ") + uv_strerror(status));
            return;
        }
        continue_connect();
        return;
    }
    if (state_ != State::connected) return;
    if (status < 0) {
        lost(std::string("socket error: ") + uv_strerror(status));
        return;
    }
    if ((events & UV_WRITABLE) != 0) flush();
    if (state_ == State::connected && (events & UV_READABLE) != 0) read();
}

void PgConnection::send(Statement statement) {
    if (state_ != State::connected) {
        // Callers check connected() first; fail like a lost connection would.
        statement.done(nullptr, std::make_exception_ptr(ConnectionError(name_ + " connection is not connected")));
        return;
    }
    const int n = static_cast<int>(statement.params.size());
    std::vector<const char*> values(statement.params.size());
    std::vector<int> lengths(statement.params.size());
    for (std::size_t i = 0; i < statement.params.size(); ++i) {
        bool is_null = !statement.null_params.empty() && statement.null_params[i];
        values[i] = is_null ? nullptr : statement.params[i].c_str();
        lengths[i] = static_cast<int>(statement.params[i].size());
    }
    bool ok = true;
    if (!statement.prepared_name.empty()) {
        if (!prepared_.contains(statement.prepared_name)) {
            ok = PQsendPrepare(conn_, statement.prepared_name.c_str(), statement.sql->c_str(), n, nullptr) == 1 &&
                 PQpipelineSync(conn_) == 1;
            if (ok) {
                prepared_.insert(statement.prepared_name);
                pending_.push_back(Pending{nullptr, nullptr, true, statement.prepared_name});
            }
        }
        ok = ok && PQsendQueryPrepared(conn_, statement.prepared_name.c_str(), n, values.data(), lengths.data(),
                                       nullptr, 0) == 1;
    } else {
        ok = PQsendQueryParams(conn_, statement.sql->c_str(), n, nullptr, values.data(), lengths.data(), nullptr,
                               0) == 1;
    }
    ok = ok && PQpipelineSync(conn_) == 1;
    pending_.push_back(Pending{std::move(statement.done), nullptr, false, {}});
    if (!ok) {
        lost(trimmed_error(conn_));
        return;
    }
    flush();
}

void PgConnection::flush() {
    int r = PQflush(conn_);
    if (r < 0) {
        lost(trimmed_error(conn_));
        return;
    }
    watch(r == 1 ? (UV_READABLE | UV_WRITABLE) : UV_READABLE);
}

void PgConnection::read() {
    if (PQconsumeInput(conn_) == 0) {
        lost(trimmed_error(conn_));
        return;
    }
    // Results, in order: each statement's result(s), a null, then its Sync.
    while (!pending_.empty() && PQisBusy(conn_) == 0) {
        PGresult* raw = PQgetResult(conn_);
        if (raw == nullptr) {
            if (PQstatus(conn_) == CONNECTION_BAD) break;
            continue;  // end of one statement's results; its Sync follows
        }
        pg::ResultPtr result(raw);
        if (PQresultStatus(raw) == PGRES_PIPELINE_SYNC) {
            Pending done = std::move(pending_.front());
            pending_.pop_front();
            if (done.internal) {
                if (done.result && !pg::succeeded(done.result.get())) {
                    // A failed PREPARE: prepare again next time; its statement
                    // fails with the reason.
                    prepared_.erase(done.prepared_name);
                    if (!pending_.empty() && !pending_.front().result)
                        pending_.front().result = std::move(done.result);
                }
                continue;
            }
            if (done.result && pg::succeeded(done.result.get())) {
                done.done(done.result.get(), nullptr);
            } else {
                auto error = pg::make_error(conn_, done.result.get(), "");
                done.done(nullptr, error);
            }
            if (state_ != State::connected) return;  // a callback closed us
            continue;
        }
        auto& head = pending_.front();
        // Keep the first result, unless a later one is an error.
        if (!head.result || (pg::succeeded(head.result.get()) && !pg::succeeded(raw))) head.result = std::move(result);
    }
    while (PGnotify* raw = PQnotifies(conn_)) {
        pg::NotifyPtr notification(raw);
        if (callbacks_.notified) callbacks_.notified(raw);
    }
    if (PQstatus(conn_) == CONNECTION_BAD) lost(trimmed_error(conn_));
}

void PgConnection::fail(const std::string& reason) {
    if (state_ == State::connected || state_ == State::connecting) lost(reason);
}

void PgConnection::lost(const std::string& libpq_reason) {
    // libpq quotes a conninfo it cannot read, password included; the reason
    // goes into a log line, the Disconnected event and statements' errors.
    const std::string reason = redact(libpq_reason, conninfo_);
    bool was_connected = state_ == State::connected;
    close_poll();
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    prepared_.clear();
    auto failed = std::move(pending_);
    pending_.clear();
    if (was_connected) lost_at_ = std::chrono::steady_clock::now();
    if (state_ == State::closing || state_ == State::closed) return;
    state_ = State::waiting;
    for (auto& p : failed) {
        if (p.internal) continue;
        p.done(nullptr, std::make_exception_ptr(ConnectionError(name_ + " connection lost: " + reason)));
    }
    if (state_ != State::waiting) return;  // a callback closed us
    backoff_ = std::clamp(backoff_ * 2, backoff_min, backoff_max);
    auto delay = was_connected ? std::chrono::milliseconds(0) : jittered(backoff_);
    if (was_connected || attempts_since_loss_ <= 1 || log_enabled(LogLevel::debug)) {
        log(LogLevel::warn, "dispatcher " + name_ + " connection lost (" + reason + "); reconnecting");
    }
    if (callbacks_.lost) callbacks_.lost(reason);
    if (state_ != State::waiting) return;
    uv_timer_start(&retry_timer_, &PgConnection::on_retry, static_cast<std::uint64_t>(delay.count()), 0);
}

void PgConnection::on_retry(uv_timer_t* timer) {
    auto* self = static_cast<PgConnection*>(timer->data);
    try {
        if (self->state_ == State::waiting) self->start_connect();
    } catch (const std::exception& e) {
        log(LogLevel::error, "dispatcher " + self->name_ + " connection: " + e.what());
    }
}

void PgConnection::close(std::function<void()> closed) {
    if (state_ == State::closing || state_ == State::closed) return;
    auto failed = std::move(pending_);
    pending_.clear();
    state_ = State::closing;
    closed_ = [this, closed = std::move(closed)] {
        state_ = State::closed;
        if (closed) closed();
    };
    for (auto& p : failed) {
        if (!p.internal)
            p.done(nullptr, std::make_exception_ptr(ConnectionError(name_ + " connection closed")));
    }
    // Stop watching the socket before PQfinish closes it.
    close_poll();
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    uv_timer_stop(&retry_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), [](uv_handle_t* handle) {
        auto* self = static_cast<PgConnection*>(handle->data);
        if (--self->open_handles_ == 0 && self->closed_) self->closed_();
    });
}

}  // namespace seesaw::detail

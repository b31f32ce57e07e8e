#include "pg_connection.hpp"

#include <algorithm>
#include <memory>
#include <cstdio>
#include <random>
#include <string_view>

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

std::string trimmed(const char* text) {
    std::string out = text != nullptr ? text : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

std::string trimmed_error(PGconn* conn) {
    std::string text = conn != nullptr ? trimmed(PQerrorMessage(conn)) : "out of memory";
    return text.empty() ? "connection lost" : text;
}

// " " + the `options` the user's conninfo gives, or "" (also when it cannot
// be read: connecting then says why).
std::string user_options(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    if (error != nullptr) PQfreemem(error);
    if (parsed == nullptr) return {};
    std::string out;
    for (auto* o = parsed; o->keyword != nullptr; ++o) {
        if (std::string_view(o->keyword) == "options" && o->val != nullptr && *o->val != '\0') {
            out = std::string(" ") + o->val;
        }
    }
    PQconninfoFree(parsed);
    return out;
}

}  // namespace

PgConnection::PgConnection(uv_loop_t* loop, std::string name, std::string conninfo, Callbacks callbacks,
                           Settings settings)
    : loop_(loop),
      name_(std::move(name)),
      conninfo_(std::move(conninfo)),
      callbacks_(std::move(callbacks)),
      settings_(std::move(settings)) {
    if (int rc = retry_timer_.open([this](uv_timer_t* timer) { return uv_timer_init(loop_, timer); }); rc != 0) {
        throw Error("dispatcher " + name_ + " connection: cannot create its retry timer: " + uv_strerror(rc));
    }
    retry_timer_.get()->data = this;
}

PgConnection::~PgConnection() {
    if (state_ == State::closed) return;  // its handles free themselves
    log(LogLevel::error, "dispatcher " + name_ +
                             " connection destroyed without close(); closing its handles now, its pending "
                             "statements get no answer");
    // Stop watching the socket before PQfinish closes it; the retry timer
    // closes with its UvHandle.
    poll_.close();
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
                          "application_name", "dbname", nullptr, nullptr};
    // "seesaw-dispatcher listen|claim|complete": each connection's role in
    // pg_stat_activity.
    const std::string application_name = "seesaw-dispatcher " + name_;
    const char* values[] = {"1", "10", "5", "3", application_name.c_str(), conninfo_.c_str(), nullptr, nullptr};
    // Ours first, then the user's own `options` (later -c settings win).
    const std::string options = settings_.startup_options.empty()
                                    ? std::string()
                                    : settings_.startup_options + user_options(conninfo_);
    if (!options.empty()) {
        keys[6] = "options";  // after dbname: it overrides the conninfo's
        values[6] = options.c_str();
    }
    conn_ = PQconnectStartParams(keys, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
        connect_failed(trimmed_error(conn_));
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
    // PQconnectPoll may close the socket and open another (the next host or
    // address), perhaps under the same number: stop watching the old one
    // first, and watch whichever it leaves us afresh.
    close_poll();
    switch (PQconnectPoll(conn_)) {
        case PGRES_POLLING_READING: watch(UV_READABLE); return;
        case PGRES_POLLING_WRITING: watch(UV_WRITABLE); return;
        case PGRES_POLLING_FAILED: connect_failed(trimmed_error(conn_)); return;
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
    if (state_ == State::connected && callbacks_.connected) callbacks_.connected();
}

void PgConnection::connect_failed(const std::string& reason) {
    // PgBouncer (before 1.21, and later without ignore_startup_parameters)
    // refuses the startup options, and a pooler that cannot keep them cannot
    // keep prepared statements either: go on without both, with the settings
    // set in each statement's transaction instead.
    if (!settings_.startup_options.empty() && reason.find("unsupported startup parameter") != std::string::npos) {
        settings_.startup_options.clear();
        settings_.transaction_setup = settings_.transaction_setup_if_refused;
        settings_.prepare = false;
        settings_.pipeline = false;
        log(LogLevel::warn, "dispatcher " + name_ + " connection: the server refused the startup parameter `options` (" +
                                reason + "): a pooler such as PgBouncer? Connecting without it, without "
                                "prepared statements and one statement at a time (set "
                                "PgJobStoreOptions::transaction_pooling to skip this)");
    }
    lost(reason);
}

void PgConnection::watch(int events) {
    int fd = PQsocket(conn_);
    if (fd < 0) {
        lost("connection has no socket");
        return;
    }
    if (!poll_) {
        int rc = poll_.open([&](uv_poll_t* handle) { return uv_poll_init(loop_, handle, fd); });
        if (rc != 0) {
            lost(std::string("cannot watch the connection's socket: ") + uv_strerror(rc));
            return;
        }
        poll_.get()->data = this;
        poll_events_ = 0;
    }
    if (events != poll_events_) {
        if (int rc = uv_poll_start(poll_.get(), events, &PgConnection::on_poll); rc != 0) {
            lost(std::string("cannot watch the connection's socket: ") + uv_strerror(rc));
            return;
        }
        poll_events_ = events;
    }
}

void PgConnection::close_poll(std::function<void()> closed) {
    // uv_close stops watching the socket at once, so PQfinish may close it next.
    poll_.close(std::move(closed));
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
    // status < 0: libuv saw POLLERR (it reports UV_EBADF) and stopped the
    // handle. libpq knows the socket's real error, and what to do about it.
    if (status < 0) poll_events_ = 0;
    if (state_ == State::connecting) {
        continue_connect();  // a refused address: libpq tries the next one, or says why it failed
        return;
    }
    if (state_ != State::connected) return;
    if (status < 0) {
        read();  // results that came before the error still count
        if (state_ == State::connected) lost(std::string("socket error: ") + uv_strerror(status));
        return;
    }
    if ((events & UV_WRITABLE) != 0) flush();
    if (state_ == State::connected && (events & UV_READABLE) != 0) read();
}

void PgConnection::send(Statement statement) {
    if (state_ != State::connected) {
        const StatementFailure failure{FailureKind::not_sent, name_ + " connection is not connected", {}};
        if (statement.done) statement.done(nullptr, &failure);
        return;
    }
    if (!settings_.pipeline && (!pending_.empty() || !queued_.empty())) {
        queued_.push_back(std::move(statement));
        return;
    }
    transmit(std::move(statement));
}

bool PgConnection::send_transaction_setup() {
    // No Sync between it and the statement: one implicit transaction, so its
    // set_config(..., true) holds for the statement and ends with it.
    if (settings_.transaction_setup.empty()) return true;
    return PQsendQueryParams(conn_, settings_.transaction_setup.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
}

void PgConnection::send_queued() {
    if (settings_.pipeline || !pending_.empty() || queued_.empty() || state_ != State::connected) return;
    auto next = std::move(queued_.front());
    queued_.pop_front();
    transmit(std::move(next));
}

void PgConnection::fail_queued(const std::string& message) {
    auto queued = std::move(queued_);
    queued_.clear();
    for (auto& statement : queued) {
        const StatementFailure failure{FailureKind::not_sent, message, {}};
        if (statement.done) statement.done(nullptr, &failure);
    }
}

void PgConnection::transmit(Statement statement) {
    const int n = static_cast<int>(statement.params.size());
    std::vector<const char*> values(statement.params.size());
    std::vector<int> lengths(statement.params.size());
    for (std::size_t i = 0; i < statement.params.size(); ++i) {
        bool is_null = !statement.null_params.empty() && statement.null_params[i];
        values[i] = is_null ? nullptr : statement.params[i].c_str();
        lengths[i] = static_cast<int>(statement.params[i].size());
    }
    bool ok = true;
    if (!settings_.prepare) statement.prepared_name.clear();
    if (!statement.prepared_name.empty()) statement.prepared_name = server_name(statement);
    if (!statement.prepared_name.empty()) {
        if (!prepared_.contains(statement.prepared_name)) {
            ok = PQsendPrepare(conn_, statement.prepared_name.c_str(), statement.sql->c_str(), n, nullptr) == 1 &&
                 PQpipelineSync(conn_) == 1;
            if (ok) {
                prepared_.insert(statement.prepared_name);
                Pending prepare;
                prepare.internal = true;
                prepare.prepared_name = statement.prepared_name;
                pending_.push_back(std::move(prepare));
            }
        }
        ok = ok && send_transaction_setup();
        ok = ok && PQsendQueryPrepared(conn_, statement.prepared_name.c_str(), n, values.data(), lengths.data(),
                                       nullptr, 0) == 1;
    } else {
        ok = send_transaction_setup() &&
             PQsendQueryParams(conn_, statement.sql->c_str(), n, nullptr, values.data(), lengths.data(), nullptr,
                               0) == 1;
    }
    ok = ok && PQpipelineSync(conn_) == 1;
    Pending pending;
    pending.done = std::move(statement.done);
    pending.prepared_name = std::move(statement.prepared_name);
    pending.skip_results = settings_.transaction_setup.empty() ? 0 : 1;
    pending_.push_back(std::move(pending));
    // PQflush fails only with bytes still unsent, and this statement's Sync
    // is the last of them: the server never got it, so nothing committed.
    const int flushed = ok ? PQflush(conn_) : -1;
    if (flushed < 0) {
        pending_.back().sent = false;
        lost(trimmed_error(conn_));
        return;
    }
    watch(flushed == 1 ? (UV_READABLE | UV_WRITABLE) : UV_READABLE);
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
                if (!done.result || !pg::succeeded(done.result.get())) {
                    // A failed PREPARE: the next statement to run it prepares
                    // again. Those sent meanwhile relied on it: they fail with
                    // its reason.
                    prepared_.erase(done.prepared_name);
                    const auto failure = rejection(done.result.get());
                    for (auto& p : pending_)
                        if (!p.internal && p.prepared_name == done.prepared_name) p.prepare_failed = failure;
                }
                continue;
            }
            if (done.prepare_failed) {
                if (done.done) done.done(nullptr, &*done.prepare_failed);
            } else if (done.result && pg::succeeded(done.result.get())) {
                if (done.done) done.done(done.result.get(), nullptr);
            } else {
                const auto failure = rejection(done.result.get());
                if (!done.prepared_name.empty() && failure.sqlstate == "26000") stop_preparing(done.prepared_name);
                if (done.done) done.done(nullptr, &failure);
            }
            if (state_ != State::connected) return;  // a callback closed us
            send_queued();
            if (state_ != State::connected) return;
            continue;
        }
        auto& head = pending_.front();
        // The answer to the transaction's setup (an error stays: it aborted
        // the statement, which then fails with it).
        if (head.skip_results > 0 && !head.result && pg::succeeded(raw)) {
            --head.skip_results;
            continue;
        }
        // Keep the first result, unless a later one is an error.
        if (!head.result || (pg::succeeded(head.result.get()) && !pg::succeeded(raw))) head.result = std::move(result);
    }
    while (PGnotify* raw = PQnotifies(conn_)) {
        pg::NotifyPtr notification(raw);
        if (callbacks_.notified) callbacks_.notified(raw);
        if (state_ != State::connected) return;  // the callback closed us
    }
    if (PQstatus(conn_) == CONNECTION_BAD) lost(trimmed_error(conn_));
}

const std::string& PgConnection::server_name(const Statement& statement) {
    // The name carries a hash of the text: behind a pooler that mixes server
    // connections (a misconfiguration, but a quiet one), a name prepared by
    // another client for another schema never runs in place of ours.
    auto [it, added] = server_names_.try_emplace(statement.sql);
    if (added) {
        std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
        for (unsigned char c : *statement.sql) hash = (hash ^ c) * 1099511628211ull;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
        it->second = statement.prepared_name + "_" + hex;
    }
    return it->second;
}

void PgConnection::stop_preparing(const std::string& name) {
    // Prepared here, and gone: a pooler in transaction mode ran the PREPARE
    // on one server connection and this on another. Under a pooler the name
    // may even exist on the next one, prepared by another client for another
    // schema: prepare nothing more.
    if (!settings_.prepare) return;
    settings_.prepare = false;
    settings_.pipeline = false;
    prepared_.clear();
    log(LogLevel::warn, "dispatcher " + name_ + " connection: the server lost the prepared statement \"" + name +
                            "\" (is this connection through PgBouncer in transaction mode? set "
                            "PgJobStoreOptions::transaction_pooling); sending every statement unprepared, one at a time, from now on");
}

StatementFailure PgConnection::rejection(const PGresult* result) const {
    // The text the synchronous store's SqlError and ConstraintError carry.
    auto described = pg::describe_failure(conn_, result);
    return StatementFailure{FailureKind::rejected, redact(described.message, conninfo_), std::move(described.sqlstate)};
}

void PgConnection::fail_statements(std::deque<Pending> statements, const std::string& message) {
    for (auto& p : statements) {
        if (p.internal || !p.done) continue;
        const StatementFailure failure{p.sent ? FailureKind::in_doubt : FailureKind::not_sent, message, {}};
        p.done(nullptr, &failure);
    }
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
    if (state_ == State::closed) return;
    state_ = State::waiting;
    fail_statements(std::move(failed), name_ + " connection lost: " + reason);
    if (state_ == State::waiting) fail_queued(name_ + " connection lost before it was sent: " + reason);
    if (state_ != State::waiting) return;  // a callback closed us
    backoff_ = std::clamp(backoff_ * 2, backoff_min, backoff_max);
    auto delay = was_connected ? std::chrono::milliseconds(0) : jittered(backoff_);
    if (was_connected || attempts_since_loss_ <= 1 || log_enabled(LogLevel::debug)) {
        log(LogLevel::warn, "dispatcher " + name_ + " connection lost (" + reason + "); reconnecting");
    }
    if (callbacks_.lost) callbacks_.lost(reason);
    if (state_ != State::waiting) return;
    const auto delay_ms = static_cast<std::uint64_t>(delay.count());
    if (int rc = uv_timer_start(retry_timer_.get(), &PgConnection::on_retry, delay_ms, 0); rc != 0) {
        log(LogLevel::error, "dispatcher " + name_ + " connection: cannot schedule its reconnect (" +
                                 uv_strerror(rc) + "); it stays down");
    }
}

void PgConnection::on_retry(uv_timer_t* timer) {
    auto* self = static_cast<PgConnection*>(timer->data);
    try {
        if (self->state_ == State::waiting) self->start_connect();
    } catch (const std::exception& e) {
        log(LogLevel::error, "dispatcher " + self->name_ + " connection: " + e.what());
    } catch (...) {
        log(LogLevel::error, "dispatcher " + self->name_ + " connection: unknown exception");
    }
}

void PgConnection::close(std::function<void()> closed) {
    if (state_ == State::closed) return;
    state_ = State::closed;
    // `closed` runs after the last handle's close callback; the count lives
    // with the callbacks, not here, since this may be destroyed first.
    struct Closing {
        int open = 0;
        std::function<void()> closed;
    };
    auto closing = std::make_shared<Closing>(Closing{(poll_ ? 1 : 0) + (retry_timer_ ? 1 : 0), std::move(closed)});
    auto one_closed = [closing, name = name_] {
        if (--closing->open > 0 || !closing->closed) return;
        try {
            closing->closed();
        } catch (const std::exception& e) {
            log(LogLevel::error, "dispatcher " + name + " connection: after closing: " + e.what());
        } catch (...) {
            log(LogLevel::error, "dispatcher " + name + " connection: after closing: unknown exception");
        }
    };
    // Stop watching the socket before PQfinish closes it.
    close_poll(one_closed);
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    retry_timer_.close(one_closed);
    prepared_.clear();
    auto failed = std::move(pending_);
    pending_.clear();
    fail_statements(std::move(failed), name_ + " connection closed");
    fail_queued(name_ + " connection closed before it was sent");
}

}  // namespace seesaw::detail

#include "seesaw/store/connection.hpp"

#include <cstdio>
#include <utility>

#include "pg.hpp"
#include "redact.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/store/local_runner.hpp"

namespace seesaw {

// --- QueryResult -----------------------------------------------------------

void QueryResult::Clear::operator()(pg_result* r) const noexcept { PQclear(r); }

QueryResult::QueryResult(pg_result* adopted) noexcept : result_(adopted) {}

std::size_t QueryResult::rows() const noexcept {
    return result_ ? static_cast<std::size_t>(PQntuples(result_.get())) : 0;
}
std::size_t QueryResult::columns() const noexcept {
    return result_ ? static_cast<std::size_t>(PQnfields(result_.get())) : 0;
}
bool QueryResult::is_null(std::size_t row, std::size_t column) const noexcept {
    return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}
std::string_view QueryResult::get(std::size_t row, std::size_t column) const noexcept {
    return pg::value(result_.get(), static_cast<int>(row), static_cast<int>(column));
}
std::optional<std::string_view> QueryResult::get_optional(std::size_t row, std::size_t column) const noexcept {
    if (is_null(row, column)) return std::nullopt;
    return get(row, column);
}
std::int64_t QueryResult::get_int64(std::size_t row, std::size_t column) const {
    return pg::to_int<std::int64_t>(get(row, column));
}
std::string_view QueryResult::column_name(std::size_t column) const noexcept {
    const char* name = PQfname(result_.get(), static_cast<int>(column));
    return name != nullptr ? name : "";
}
std::uint64_t QueryResult::affected_rows() const noexcept {
    const char* text = result_ ? PQcmdTuples(result_.get()) : "";
    std::uint64_t n = 0;
    std::from_chars(text, text + std::char_traits<char>::length(text), n);
    return n;
}

// --- Connection --------------------------------------------------------------

Connection Connection::open(const std::string& conninfo) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    if (conn == nullptr) throw ConnectionError("cannot connect to the database: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string reason = PQerrorMessage(conn);
        PQfinish(conn);
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
        throw ConnectionError("cannot connect to the database: " + detail::redact(reason, conninfo));
    }
    Connection connection(conn);
    connection.server_closing_ = std::make_unique<bool>(false);
    // Server notices ("... already exists, skipping") go to the log hook at
    // debug level, not straight to stderr. A FATAL that arrives while the
    // connection is idle (pg_terminate_backend, a shutdown) comes this way
    // too, just before the server closes the socket: remember it.
    PQsetNoticeReceiver(conn, [](void* closing, const PGresult* notice) {
        const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
        std::string_view level = severity != nullptr ? severity : "";
        bool fatal = level == "FATAL" || level == "PANIC";
        if (fatal) *static_cast<bool*>(closing) = true;
        std::string text = PQresultErrorMessage(notice);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        log(fatal ? LogLevel::warn : LogLevel::debug, "postgres: " + text);
    }, connection.server_closing_.get());
    return connection;
}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      prepared_(std::move(other.prepared_)),
      server_closing_(std::move(other.server_closing_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        if (conn_ != nullptr) PQfinish(conn_);
        conn_ = std::exchange(other.conn_, nullptr);
        prepared_ = std::move(other.prepared_);
        server_closing_ = std::move(other.server_closing_);
    }
    return *this;
}

Connection::~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::is_open() const noexcept { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::in_transaction() const noexcept {
    if (conn_ == nullptr) return false;
    auto status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

bool Connection::check_alive() noexcept {
    if (!is_open()) return false;
    if (PQconsumeInput(conn_) == 0) return false;
    // Drop notifications nobody asked for (parsing also reports a FATAL the
    // server sent before closing, as a notice).
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
    if (server_closing_ && *server_closing_) return false;
    // A read that returned data does not look further: read again, so that
    // a socket the server closed after its last message shows its EOF (the
    // socket is non-blocking: a live idle connection just has nothing).
    if (PQconsumeInput(conn_) == 0) return false;
    return PQstatus(conn_) == CONNECTION_OK;
}

QueryResult Connection::execute(std::string_view sql) { return QueryResult(pg::exec(conn_, sql).release()); }

QueryResult Connection::execute(std::string_view sql, std::span<const Param> params) {
    pg::Params packed;
    for (const auto& p : params) packed.add_param(p);
    return QueryResult(pg::exec(conn_, sql, packed).release());
}

QueryResult Connection::execute_prepared(const std::string& name, std::string_view sql,
                                         std::span<const Param> params) {
    pg::Params packed;
    for (const auto& p : params) packed.add_param(p);
    for (int attempt = 0;; ++attempt) {
        if (!prepared_.contains(name)) {
            std::string text(sql);
            const bool was_connected = PQstatus(conn_) == CONNECTION_OK;
            pg::ResultPtr prepared(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
            pg::check(conn_, prepared.get(), sql, was_connected);
            prepared_.insert(name);
        }
        const bool was_connected = PQstatus(conn_) == CONNECTION_OK;
        pg::ResultPtr result(
            PQexecPrepared(conn_, name.c_str(), packed.size(), packed.values(), packed.lengths(), nullptr, 0));
        // Someone ran DEALLOCATE or DISCARD ALL on this connection: prepare
        // again, at once outside a transaction (inside, the error aborted
        // it, so the next call prepares).
        const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
        if (state != nullptr && std::string_view(state) == "26000") {
            prepared_.erase(name);
            if (attempt == 0 && !in_transaction()) continue;
        }
        pg::check(conn_, result.get(), sql, was_connected);
        return QueryResult(result.release());
    }
}

// --- Transaction ---------------------------------------------------------------

Transaction::Transaction(Connection& connection) : connection_(connection) { connection_.execute("BEGIN"); }

Transaction::~Transaction() {
    if (done_) return;
    done_ = true;
    try {
        connection_.execute("ROLLBACK");
    } catch (...) {
        // The connection broke: the server rolls the transaction back itself.
    }
    end(TransactionEnd::rolled_back);
}

void Transaction::on_end(std::function<void(TransactionEnd)> f) {
    if (done_) throw UsageError("Transaction::on_end: the transaction has ended already");
    on_end_.push_back(std::move(f));
}

void Transaction::end(TransactionEnd how) noexcept {
    auto hooks = std::move(on_end_);
    on_end_.clear();
    for (auto& hook : hooks) hook(how);
}

void Transaction::commit() {
    if (managed_) throw UsageError("a handler's transaction is committed by the dispatcher, with the job's success: do not commit it");
    finish(true);
}

void Transaction::rollback() {
    if (managed_) throw UsageError("a handler's transaction is ended by the dispatcher: throw from the handler to roll it back");
    finish(false);
}

void Transaction::finish(bool commit) {
    if (done_) throw UsageError("the transaction has ended already");
    done_ = true;
    if (!commit) {
        try {
            connection_.execute("ROLLBACK");
        } catch (...) {
            end(TransactionEnd::rolled_back);  // lost: the server rolls it back
            throw;
        }
        end(TransactionEnd::rolled_back);
        return;
    }
    QueryResult result;
    try {
        result = connection_.execute("COMMIT");
    } catch (const InDoubtError&) {
        end(TransactionEnd::unknown);
        throw;
    } catch (...) {
        end(TransactionEnd::rolled_back);
        throw;
    }
    // COMMIT of a transaction that had failed answers ROLLBACK.
    const char* tag = PQcmdStatus(result.native());
    if (tag != nullptr && std::string_view(tag) == "ROLLBACK") {
        end(TransactionEnd::rolled_back);
        throw SqlError("COMMIT rolled back: a statement of the transaction had failed", "25P02", "COMMIT");
    }
    end(TransactionEnd::committed);
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// --- pg helpers ------------------------------------------------------------------

namespace pg {

ResultPtr exec(PGconn* conn, std::string_view sql, const Params& params) {
    if (conn == nullptr) throw ConnectionError("database connection failed: no connection");
    std::string text(sql);
    const bool was_connected = PQstatus(conn) == CONNECTION_OK;
    ResultPtr result(
        PQexecParams(conn, text.c_str(), params.size(), nullptr, params.values(), params.lengths(), nullptr, 0));
    check(conn, result.get(), sql, was_connected);
    return result;
}

ResultPtr exec(PGconn* conn, std::string_view sql, const std::vector<std::string>& params,
               const std::vector<bool>& null_params) {
    Params packed;
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!null_params.empty() && null_params[i])
            packed.add_null();
        else
            packed.add(params[i]);
    }
    return exec(conn, sql, packed);
}

ResultPtr exec(PGconn* conn, std::string_view sql) {
    if (conn == nullptr) throw ConnectionError("database connection failed: no connection");
    std::string text(sql);
    const bool was_connected = PQstatus(conn) == CONNECTION_OK;
    ResultPtr result(PQexec(conn, text.c_str()));
    check(conn, result.get(), sql, was_connected);
    return result;
}

void ArrayLiteral::add(std::string_view element) {
    separate();
    text_.push_back('"');
    for (char c : element) {
        if (c == '"' || c == '\\') text_.push_back('\\');
        text_.push_back(c);
    }
    text_.push_back('"');
}

void ArrayLiteral::add(const JobId& id) {
    separate();
    auto at = text_.size();
    text_.resize(at + 36);
    id.write_to(text_.data() + at);
}

void ArrayLiteral::add(std::int64_t value) {
    separate();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    text_.append(buf, end);
}

void ArrayLiteral::add_null() {
    separate();
    text_.append("NULL");
}

std::string ArrayLiteral::finish() && {
    text_.push_back('}');
    return std::move(text_);
}

std::string to_text(std::int64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, end);
}

std::string timestamp_literal(Timestamp t) {
    // ISO 8601 in UTC ("...Z"): PostgreSQL reads it whatever the session's TimeZone.
    return format_timestamp(t);
}

}  // namespace pg
}  // namespace seesaw

namespace seesaw::detail {

void TransactionAccess::set_managed(Transaction& transaction, bool managed) noexcept { transaction.managed_ = managed; }
bool TransactionAccess::ended(const Transaction& transaction) noexcept { return transaction.done_; }
void TransactionAccess::commit(Transaction& transaction) { transaction.finish(true); }
void TransactionAccess::rollback(Transaction& transaction) { transaction.finish(false); }

}  // namespace seesaw::detail

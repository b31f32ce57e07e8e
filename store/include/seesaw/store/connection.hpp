#pragma once
// A PostgreSQL connection and its results, without libpq in sight: the
// public headers name libpq's structs only by forward declaration.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace seesaw {

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string_view>;

// The rows of one statement, as text.
class QueryResult {
public:
    QueryResult() = default;
    explicit QueryResult(pg_result* adopted) noexcept;

    std::size_t rows() const noexcept;
    std::size_t columns() const noexcept;
    bool is_null(std::size_t row, std::size_t column) const noexcept;
    std::string_view get(std::size_t row, std::size_t column) const noexcept;
    std::optional<std::string_view> get_optional(std::size_t row, std::size_t column) const noexcept;
    std::int64_t get_int64(std::size_t row, std::size_t column) const;
    std::string_view column_name(std::size_t column) const noexcept;
    // Rows changed by an INSERT/UPDATE/DELETE.
    std::uint64_t affected_rows() const noexcept;
    pg_result* native() const noexcept { return result_.get(); }

private:
    struct Clear {
        void operator()(pg_result* r) const noexcept;
    };
    std::unique_ptr<pg_result, Clear> result_;
};

// One owned connection. Move-only; closed when destroyed.
class Connection {
public:
    // Connects (blocking). Throws ConnectionError with libpq's reason.
    static Connection open(const std::string& conninfo);
    // Takes ownership of a connection made with libpq.
    explicit Connection(pg_conn* adopted) noexcept : conn_(adopted) {}
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    pg_conn* native() const noexcept { return conn_; }
    bool is_open() const noexcept;
    // Inside BEGIN ... COMMIT (or a failed transaction).
    bool in_transaction() const noexcept;
    // Reads what the server sent (a termination notice, a closed socket);
    // false when the connection is no longer usable.
    bool check_alive() noexcept;

    // One or more statements, no parameters; returns the last result.
    QueryResult execute(std::string_view sql);
    QueryResult execute(std::string_view sql, std::span<const Param> params);
    QueryResult execute(std::string_view sql, std::initializer_list<Param> params) {
        return execute(sql, std::span<const Param>(params.begin(), params.size()));
    }
    // Prepared once per connection under `name`, then executed.
    QueryResult execute_prepared(const std::string& name, std::string_view sql, std::span<const Param> params);

private:
    pg_conn* conn_ = nullptr;
    std::unordered_set<std::string> prepared_;
    // Set by the notice receiver when the server said FATAL while the
    // connection was idle (it is closing it). On the heap: its address is
    // the receiver's argument and must survive moves. Null when adopted.
    std::unique_ptr<bool> server_closing_;
};

// How a transaction ended (Transaction::on_end).
enum class TransactionEnd {
    committed,    // COMMIT succeeded
    rolled_back,  // ROLLBACK, a COMMIT the server refused or turned into a rollback, or a connection lost before COMMIT
    unknown,      // the connection was lost while COMMIT ran: it may have committed
};

namespace detail {
struct TransactionAccess;
}

// BEGIN on construction; ROLLBACK when destroyed without commit().
class Transaction {
public:
    explicit Transaction(Connection& connection);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    // Throws SqlError when the server refused it, or when the
    // transaction had failed (COMMIT then rolls back); InDoubtError when the
    // connection was lost while it ran. In a handler's transaction
    // (Dispatcher::on with a Transaction& parameter) the dispatcher commits:
    // commit() and rollback() there are a UsageError.
    void commit();
    void rollback();
    Connection& connection() noexcept { return connection_; }

    // Runs f once, on the thread that ends the transaction, right after it
    // ended (f must not throw). An enqueue inside the transaction uses it to
    // hand a job to this process's dispatcher only once the job is committed.
    void on_end(std::function<void(TransactionEnd)> f);

private:
    friend struct detail::TransactionAccess;
    void end(TransactionEnd how) noexcept;
    void finish(bool commit);

    Connection& connection_;
    bool done_ = false;
    bool managed_ = false;  // a handler's: the dispatcher ends it
    std::vector<std::function<void(TransactionEnd)>> on_end_;
};

// Quotes an identifier for SQL ("my schema" → "\"my schema\"").
std::string quote_identifier(std::string_view name);

}  // namespace seesaw

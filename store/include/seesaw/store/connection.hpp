#pragma once
// A PostgreSQL connection and its results, without libpq in sight: the
// public headers name libpq's structs only by forward declaration.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

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

// BEGIN on construction; ROLLBACK when destroyed without commit().
class Transaction {
public:
    explicit Transaction(Connection& connection);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    void commit();
    void rollback();
    Connection& connection() noexcept { return connection_; }

private:
    Connection& connection_;
    bool done_ = false;
};

// Quotes an identifier for SQL ("my schema" → "\"my schema\"").
std::string quote_identifier(std::string_view name);

}  // namespace seesaw

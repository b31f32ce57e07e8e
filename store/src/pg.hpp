#pragma once
// Internal libpq helpers shared by the store, the migrator and the
// dispatcher: RAII for PGresult/PGnotify, parameter packing, statement
// execution that maps failures to seesaw exceptions, array literals.

#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job.hpp"
#include "seesaw/store/connection.hpp"

namespace seesaw::pg {

struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct NotifyDeleter {
    void operator()(PGnotify* n) const noexcept { PQfreemem(n); }
};
using NotifyPtr = std::unique_ptr<PGnotify, NotifyDeleter>;

// The one place SQLSTATE becomes an exception class (pg_error.cpp).
//
// A failed statement as seesaw reports it: its SQLSTATE, and a message made
// of the server's primary message (else libpq's) with its detail, then
// "[constraint c]" for a constraint violation or "[SQLSTATE s]" otherwise.
// result may be null (the connection failed before a result came back).
struct Failure {
    std::string sqlstate;
    std::string message;
    bool connection_lost = false;  // the connection is broken, or the state says the server went away
};
Failure describe_failure(PGconn* conn, const PGresult* result);
// Throws the exception for a statement that failed. was_connected: the
// connection was fine when the statement was sent, so if it broke since,
// the statement may have committed (InDoubtError); otherwise a lost
// connection is a ConnectionError, a violated constraint a ConstraintError,
// anything else an SqlError.
[[noreturn]] void throw_error(PGconn* conn, const PGresult* result, std::string_view query, bool was_connected);
// Throws unless result succeeded (COMMAND_OK or TUPLES_OK).
void check(PGconn* conn, const PGresult* result, std::string_view query, bool was_connected);
bool succeeded(const PGresult* result) noexcept;

// Parameters in text form, kept alive for one call. libpq reads a text
// parameter up to its NUL and ignores the length, so a view (which may be
// a slice of a longer buffer) is copied; a std::string or a C string is not.
class Params {
public:
    void add(const std::string& value) { add_terminated(value.c_str(), value.size()); }
    // A temporary is kept (a pointer to it would dangle by the call).
    void add(std::string&& value) { add_owned(std::move(value)); }
    void add(const char* value) { add_terminated(value, std::char_traits<char>::length(value)); }
    void add(std::string_view value) { add_owned(std::string(value)); }
    void add_null() {
        values_.push_back(nullptr);
        lengths_.push_back(0);
    }
    void add_param(const Param& value) {
        if (value)
            add(*value);
        else
            add_null();
    }
    // Owns the text of a number or id until the call ends.
    void add_owned(std::string value) {
        owned_.push_back(std::make_unique<std::string>(std::move(value)));
        add(*owned_.back());
    }
    int size() const noexcept { return static_cast<int>(values_.size()); }
    const char* const* values() const noexcept { return values_.data(); }
    const int* lengths() const noexcept { return lengths_.data(); }

private:
    void add_terminated(const char* value, std::size_t size) {
        values_.push_back(value);
        lengths_.push_back(static_cast<int>(size));
    }

    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<std::unique_ptr<std::string>> owned_;
};

ResultPtr exec(PGconn* conn, std::string_view sql, const Params& params);
ResultPtr exec(PGconn* conn, std::string_view sql);
// Parameters as the worker protocol builds them (worker_protocol.hpp):
// null_params is empty (no NULLs) or flags each parameter.
ResultPtr exec(PGconn* conn, std::string_view sql, const std::vector<std::string>& params,
               const std::vector<bool>& null_params = {});

// Builds a PostgreSQL array literal: {"a","b",NULL}.
class ArrayLiteral {
public:
    ArrayLiteral() { text_.push_back('{'); }
    void reserve(std::size_t bytes) { text_.reserve(bytes); }
    void add(std::string_view element);
    void add(const JobId& id);
    void add(std::int64_t value);
    void add_null();
    std::string finish() &&;

private:
    void separate() {
        if (!empty_) text_.push_back(',');
        empty_ = false;
    }
    std::string text_;
    bool empty_ = true;
};

inline std::string_view value(const PGresult* r, int row, int column) noexcept {
    return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
}

template <class Int>
Int to_int(std::string_view text) {
    Int out{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || ptr != text.data() + text.size())
        throw Error("seesaw: expected an integer from the database, got '" + std::string(text) + "'");
    return out;
}

inline Timestamp to_timestamp_us(std::string_view epoch_us) {
    return Timestamp(std::chrono::microseconds(to_int<std::int64_t>(epoch_us)));
}

// A column of epoch microseconds that may be NULL.
inline std::optional<Timestamp> optional_timestamp_us(const PGresult* r, int row, int column) {
    if (PQgetisnull(r, row, column)) return std::nullopt;
    return to_timestamp_us(value(r, row, column));
}

std::string to_text(std::int64_t value);
// Microseconds since the epoch, as an SQL timestamptz literal.
std::string timestamp_literal(Timestamp t);

}  // namespace seesaw::pg

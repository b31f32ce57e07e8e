// SQLSTATE → exception class, in one place.
#include <cstring>

#include "pg.hpp"
#include "seesaw/core/error.hpp"

namespace seesaw::pg {
namespace {

bool is_connection_state(std::string_view state) {
    // 08xxx connection exceptions; 57P01 admin shutdown, 57P02 crash
    // shutdown, 57P03 cannot connect now; 53300 too many connections.
    return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
           state == "53300";
}

std::string trimmed(const char* text) {
    std::string out = text != nullptr ? text : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

}  // namespace

bool succeeded(const PGresult* result) noexcept {
    if (result == nullptr) return false;
    auto status = PQresultStatus(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE ||
           status == PGRES_PIPELINE_SYNC || status == PGRES_COPY_IN || status == PGRES_COPY_OUT;
}

std::exception_ptr make_error(PGconn* conn, const PGresult* result, std::string_view query) {
    const char* state_field = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = state_field != nullptr ? state_field : "";
    std::string message;
    if (result != nullptr) {
        message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
        if (message.empty()) message = trimmed(PQresultErrorMessage(result));
        if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL))
            message += " (" + trimmed(detail) + ")";
    }
    if (message.empty() && conn != nullptr) message = trimmed(PQerrorMessage(conn));
    if (message.empty()) message = "unknown error";

    bool connection_lost = conn != nullptr && PQstatus(conn) == CONNECTION_BAD;
    if (connection_lost || is_connection_state(state) || (state.empty() && result == nullptr)) {
        return std::make_exception_ptr(ConnectionError("database connection failed: " + message));
    }
    if (state.starts_with("23")) {
        if (const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME))
            message += " [constraint " + std::string(constraint) + "]";
        return std::make_exception_ptr(ConstraintError(message, state, std::string(query)));
    }
    return std::make_exception_ptr(SqlError(message + " [SQLSTATE " + state + "]", state, std::string(query)));
}

void throw_error(PGconn* conn, const PGresult* result, std::string_view query) {
    std::rethrow_exception(make_error(conn, result, query));
}

void check(PGconn* conn, const PGresult* result, std::string_view query) {
    if (!succeeded(result)) throw_error(conn, result, query);
}

}  // namespace seesaw::pg

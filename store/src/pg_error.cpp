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

Failure describe_failure(PGconn* conn, const PGresult* result) {
    Failure failure;
    if (const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr)
        failure.sqlstate = state;
    if (result != nullptr) {
        failure.message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
        if (failure.message.empty()) failure.message = trimmed(PQresultErrorMessage(result));
        if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL))
            failure.message += " (" + trimmed(detail) + ")";
    }
    if (failure.message.empty() && conn != nullptr) failure.message = trimmed(PQerrorMessage(conn));
    if (failure.message.empty()) failure.message = "unknown error";
    failure.connection_lost = (conn != nullptr && PQstatus(conn) == CONNECTION_BAD) ||
                              is_connection_state(failure.sqlstate) || (failure.sqlstate.empty() && result == nullptr);
    if (failure.connection_lost) return failure;
    if (failure.sqlstate.starts_with("23")) {
        if (const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME))
            failure.message += " [constraint " + std::string(constraint) + "]";
    } else {
        failure.message += " [SQLSTATE " + failure.sqlstate + "]";
    }
    return failure;
}

void throw_error(PGconn* conn, const PGresult* result, std::string_view query, bool was_connected) {
    auto failure = describe_failure(conn, result);
    if (failure.connection_lost) {
        if (was_connected && conn != nullptr && PQstatus(conn) == CONNECTION_BAD) {
            throw InDoubtError("database connection lost while the statement ran (it may have committed): " +
                               failure.message);
        }
        throw ConnectionError("database connection failed: " + failure.message);
    }
    if (failure.sqlstate.starts_with("23")) throw ConstraintError(failure.message, failure.sqlstate, std::string(query));
    throw SqlError(failure.message, failure.sqlstate, std::string(query));
}

void check(PGconn* conn, const PGresult* result, std::string_view query, bool was_connected) {
    if (!succeeded(result)) throw_error(conn, result, query, was_connected);
}

}  // namespace seesaw::pg

#pragma once
// One asynchronous stream of statements (a connection): each statement's
// callback runs on the loop thread, in the order the statements were sent.
#include <libpq-fe.h>

#include <functional>
#include <string>
#include <vector>

namespace seesaw::detail {

// What became of a statement that did not succeed, and so what the caller must do.
enum class FailureKind {
    not_sent,  // it never reached the server (not connected, or the send failed before any byte left): nothing happened
    in_doubt,  // it was sent and the connection broke before its result: it may have committed — find out before acting on it
    rejected,  // the server answered with an error: it did not commit (sqlstate says why)
};

struct StatementFailure {
    FailureKind kind;
    std::string message;
    std::string sqlstate;  // rejected only
};

struct Statement {
    std::string prepared_name;         // prepared once per connection; empty: unnamed
    const std::string* sql = nullptr;  // read during send() only
    std::vector<std::string> params;
    std::vector<bool> null_params;     // same size as params, or empty (no NULLs)
    // Exactly one of result and failure is non-null; both valid during the call only.
    std::function<void(const PGresult* result, const StatementFailure* failure)> done;
};

class Statements {
public:
    virtual ~Statements() = default;
    // Sends the statement (or fails it with not_sent at once, from inside send()).
    virtual void send(Statement statement) = 0;
};

}  // namespace seesaw::detail

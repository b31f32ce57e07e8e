#pragma once
// The one exception hierarchy of seesaw: everything the library throws derives
// from seesaw::Error. SQLSTATE codes are mapped to these classes in exactly one
// place (store/src/pg_error.cpp).

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace seesaw {

// The longest delay seesaw takes anywhere (a retry's, a snooze's, a unique
// key's period): 1,000 years, so that now() plus it is a time PostgreSQL holds.
inline constexpr std::chrono::milliseconds longest_delay{31'557'600'000'000};

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The database cannot be reached, or the connection broke (SQLSTATE class 08,
// admin shutdown, a socket error).
class ConnectionError : public Error {
public:
    using Error::Error;
};

// The statement was sent and the connection broke before its result: it may
// have committed; find out before acting on it (retrying a write that did
// commit may apply it twice).
class InDoubtError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};

// PostgreSQL rejected a statement. Carries the SQLSTATE and the statement text.
class SqlError : public Error {
public:
    SqlError(const std::string& message, std::string sqlstate, std::string query)
        : Error(message), sqlstate_(std::move(sqlstate)), query_(std::move(query)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& query() const noexcept { return query_; }

private:
    std::string sqlstate_;
    std::string query_;
};

// SQLSTATE class 23: a row broke a constraint (CHECK, NOT NULL, unique, ...).
class ConstraintError : public SqlError {
public:
    using SqlError::SqlError;
};

// A payload does not encode or decode for its job type.
class PayloadError : public Error {
public:
    using Error::Error;
};

// The API was used wrongly: an invalid option, a type registered twice, a
// job refused before anything was written.
class UsageError : public Error {
public:
    using Error::Error;
};

// delay, or UsageError naming `what` when it is negative or over longest_delay.
inline std::chrono::milliseconds checked_delay(std::chrono::milliseconds delay, const std::string& what) {
    if (delay.count() < 0 || delay > longest_delay)
        throw UsageError(what + " must be between 0 and 1,000 years, got " + std::to_string(delay.count()) + " ms");
    return delay;
}

// A fenced update matched no row: the job's lease was reclaimed or the job
// was completed by its new owner. The caller no longer owns the job.
class LeaseLostError : public Error {
public:
    using Error::Error;
};

// Thrown by a handler: the attempt failed and the job should be retried
// while it has retries left: after the retry policy's backoff, or after the
// delay given here (zero: at once).
class RetryableError : public Error {
public:
    using Error::Error;
    RetryableError(const std::string& message, std::chrono::milliseconds retry_in)
        : Error(message), retry_in_(checked_delay(retry_in, "RetryableError: the retry delay")) {}
    // The delay the handler chose; unset: the retry policy's backoff.
    std::optional<std::chrono::milliseconds> retry_in() const noexcept { return retry_in_; }

private:
    std::optional<std::chrono::milliseconds> retry_in_;
};

// Thrown by a handler: the job can never succeed; it goes to the dead letter
// queue at once.
class PermanentError : public Error {
public:
    using Error::Error;
};

// Thrown by a handler (or by JobContext::snooze): run the job again after
// `delay`, without counting this run as a failed attempt. The job's type
// bounds the snoozes of one job (HandlerOptions::max_snoozes); past it, a
// snooze is a retryable failure.
class Snooze : public Error {
public:
    explicit Snooze(std::chrono::milliseconds delay)
        : Error("snoozed for " + std::to_string(delay.count()) + " ms"), delay_(checked_delay(delay, "Snooze: the delay")) {}
    std::chrono::milliseconds delay() const noexcept { return delay_; }

private:
    std::chrono::milliseconds delay_;
};

// Thrown by a handler: end the job as cancelled (never retried); the reason
// is kept in its error_message.
class CancelJob : public Error {
public:
    using Error::Error;
};

}  // namespace seesaw

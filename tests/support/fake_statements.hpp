#pragma once
// FakeStatements: the engine's statement interface (statements.hpp) without a
// database, for unit tests of the parts that reach the database through it.
// It records every statement sent, in order, and the test answers them: with
// rows (a real PGresult, text format, NULLs allowed), with "command OK, no
// rows", or with a failure of any kind. Answers are delivered in the order
// the statements were sent, as a connection delivers them: an answer given to
// a later statement waits until every earlier one is answered.
//
// Single-threaded, like the loop it stands in for. A callback may send more
// statements or answer others; what it sends is recorded after the rest.

#include <libpq-fe.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "statements.hpp"

namespace seesaw::test {

// One row of a result: a value per column in text format, nullopt for NULL.
using FakeRow = std::vector<std::optional<std::string>>;

// What a statement gets back.
class FakeAnswer {
public:
    // A result with these columns and rows (PGRES_TUPLES_OK).
    static FakeAnswer rows(std::vector<std::string> columns, std::vector<FakeRow> rows) {
        for (const auto& row : rows) {
            if (row.size() != columns.size())
                throw std::invalid_argument("FakeAnswer::rows: a row has " + std::to_string(row.size()) +
                                            " values for " + std::to_string(columns.size()) + " columns");
        }
        FakeAnswer answer;
        answer.columns_ = std::move(columns);
        answer.rows_ = std::move(rows);
        return answer;
    }
    // A statement that returns no rows (PGRES_COMMAND_OK).
    static FakeAnswer ok() {
        FakeAnswer answer;
        answer.command_ok_ = true;
        return answer;
    }
    static FakeAnswer failure(detail::FailureKind kind, std::string message, std::string sqlstate = {}) {
        FakeAnswer answer;
        answer.failure_ = detail::StatementFailure{kind, std::move(message), std::move(sqlstate)};
        return answer;
    }

    const std::optional<detail::StatementFailure>& failed() const noexcept { return failure_; }

    // The PGresult this answer stands for (null for a failure).
    std::unique_ptr<PGresult, void (*)(PGresult*)> make_result() const {
        std::unique_ptr<PGresult, void (*)(PGresult*)> result(nullptr, &PQclear);
        if (failure_) return result;
        result.reset(PQmakeEmptyPGresult(nullptr, command_ok_ ? PGRES_COMMAND_OK : PGRES_TUPLES_OK));
        if (!result) throw std::bad_alloc();
        if (command_ok_) return result;
        std::vector<PGresAttDesc> attributes(columns_.size());
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            attributes[i].name = const_cast<char*>(columns_[i].c_str());  // copied by PQsetResultAttrs
            attributes[i].tableid = 0;
            attributes[i].columnid = 0;
            attributes[i].format = 0;    // text
            attributes[i].typid = 25;    // text
            attributes[i].typlen = -1;   // variable length
            attributes[i].atttypmod = -1;
        }
        if (PQsetResultAttrs(result.get(), static_cast<int>(attributes.size()), attributes.data()) == 0)
            throw std::bad_alloc();
        for (std::size_t row = 0; row < rows_.size(); ++row) {
            for (std::size_t column = 0; column < columns_.size(); ++column) {
                const auto& value = rows_[row][column];
                // PQsetvalue copies the value; a length of -1 makes it NULL.
                int ok = value ? PQsetvalue(result.get(), static_cast<int>(row), static_cast<int>(column),
                                            const_cast<char*>(value->data()), static_cast<int>(value->size()))
                               : PQsetvalue(result.get(), static_cast<int>(row), static_cast<int>(column), nullptr, -1);
                if (ok == 0) throw std::bad_alloc();
            }
        }
        return result;
    }

private:
    FakeAnswer() = default;

    std::vector<std::string> columns_;
    std::vector<FakeRow> rows_;
    bool command_ok_ = false;
    std::optional<detail::StatementFailure> failure_;
};

class FakeStatements : public detail::Statements {
public:
    // A statement as it was sent.
    struct Sent {
        std::string prepared_name;
        std::string sql;  // a copy: Statement::sql is valid during send() only
        std::vector<std::string> params;
        std::vector<bool> null_params;
        bool answered = false;  // its callback ran (or is running)
    };

    // A lost connection: every unanswered statement fails in_doubt (in
    // order), and sends fail with not_sent at once, from inside send() (as
    // PgConnection's do), until reconnect(). They are recorded all the same.
    void lose_connection(const std::string& message = "fake connection lost") {
        connected_ = false;
        fail_unanswered(detail::FailureKind::in_doubt, message);
    }
    void reconnect() noexcept { connected_ = true; }
    bool connected() const noexcept { return connected_; }

    void send(detail::Statement statement) override {
        auto& entry = entries_.emplace_back();
        entry.sent = Sent{std::move(statement.prepared_name), statement.sql != nullptr ? *statement.sql : std::string(),
                          std::move(statement.params), std::move(statement.null_params), false};
        entry.done = std::move(statement.done);
        if (!connected_) {
            entry.answer = FakeAnswer::failure(detail::FailureKind::not_sent, "fake connection is not connected");
            run(entry);
        }
    }

    // Every statement sent, in order.
    std::size_t size() const noexcept { return entries_.size(); }
    const Sent& sent(std::size_t index) const { return entries_.at(index).sent; }
    const Sent& last() const {
        if (entries_.empty()) throw std::logic_error("FakeStatements: nothing was sent");
        return entries_.back().sent;
    }
    // Statements without an answer yet.
    std::size_t unanswered() const noexcept {
        std::size_t n = 0;
        for (const auto& e : entries_) n += e.answer ? 0 : 1;
        return n;
    }
    // The oldest statement without an answer.
    std::size_t oldest_unanswered() const {
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (!entries_[i].answer) return i;
        throw std::logic_error("FakeStatements: every statement sent has its answer");
    }
    const Sent& oldest() const { return entries_.at(oldest_unanswered()).sent; }

    // Answers the oldest unanswered statement.
    void answer(FakeAnswer answer) { this->answer(oldest_unanswered(), std::move(answer)); }
    // Answers statement `index`; its callback runs once every earlier one's has.
    void answer(std::size_t index, FakeAnswer answer) {
        auto& entry = entries_.at(index);
        if (entry.answer)
            throw std::logic_error("FakeStatements: statement " + std::to_string(index) + " has its answer");
        entry.answer = std::move(answer);
        deliver();
    }
    void answer_ok() { answer(FakeAnswer::ok()); }
    void answer_rows(std::vector<std::string> columns, std::vector<FakeRow> rows) {
        answer(FakeAnswer::rows(std::move(columns), std::move(rows)));
    }
    void answer_failure(detail::FailureKind kind, std::string message, std::string sqlstate = {}) {
        answer(FakeAnswer::failure(kind, std::move(message), std::move(sqlstate)));
    }
    // Fails every unanswered statement alike.
    void fail_unanswered(detail::FailureKind kind, const std::string& message) {
        for (auto& entry : entries_)
            if (!entry.answer) entry.answer = FakeAnswer::failure(kind, message);
        deliver();
    }

private:
    struct Entry {
        Sent sent;
        std::function<void(const PGresult*, const detail::StatementFailure*)> done;
        std::optional<FakeAnswer> answer;
    };

    // Runs the callbacks that are due, in order. A callback may send or
    // answer (a deque: entries stay where they are); the outermost call
    // delivers what that makes due.
    void deliver() {
        if (delivering_) return;
        delivering_ = true;
        try {
            for (std::size_t i = 0; i < entries_.size(); ++i) {
                if (entries_[i].sent.answered) continue;
                if (!entries_[i].answer) break;
                run(entries_[i]);
            }
        } catch (...) {
            delivering_ = false;
            throw;
        }
        delivering_ = false;
    }

    static void run(Entry& entry) {
        entry.sent.answered = true;
        auto done = std::move(entry.done);
        const auto& answer = *entry.answer;
        if (answer.failed()) {
            const detail::StatementFailure failure = *answer.failed();
            if (done) done(nullptr, &failure);
        } else {
            auto result = answer.make_result();  // PQclear after the callback
            if (done) done(result.get(), nullptr);
        }
    }

    std::deque<Entry> entries_;
    bool connected_ = true;
    bool delivering_ = false;
};

}  // namespace seesaw::test

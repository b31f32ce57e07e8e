#include "fake_statements.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seesaw::test {
namespace {

using detail::FailureKind;
using detail::Statement;
using detail::StatementFailure;

// What a callback saw, copied out while its arguments were valid.
struct Seen {
    std::string label;
    bool ok = false;
    ExecStatusType status = PGRES_EMPTY_QUERY;
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> values;  // "<NULL>" for NULL
    FailureKind kind = FailureKind::not_sent;
    std::string message;
    std::string sqlstate;
};

Statement statement(const std::string& sql, std::vector<Seen>& seen, std::string label) {
    Statement s;
    s.sql = &sql;
    s.done = [&seen, label = std::move(label)](const PGresult* result, const StatementFailure* failure) {
        EXPECT_NE(result == nullptr, failure == nullptr) << "exactly one of result and failure";
        Seen out;
        out.label = label;
        if (result != nullptr) {
            out.ok = true;
            out.status = PQresultStatus(result);
            for (int c = 0; c < PQnfields(result); ++c) out.columns.emplace_back(PQfname(result, c));
            for (int r = 0; r < PQntuples(result); ++r) {
                auto& row = out.values.emplace_back();
                for (int c = 0; c < PQnfields(result); ++c) {
                    const auto length = static_cast<std::size_t>(PQgetlength(result, r, c));
                    row.push_back(PQgetisnull(result, r, c) != 0 ? std::string("<NULL>")
                                                                 : std::string(PQgetvalue(result, r, c), length));
                }
            }
        } else if (failure != nullptr) {
            out.kind = failure->kind;
            out.message = failure->message;
            out.sqlstate = failure->sqlstate;
        }
        seen.push_back(std::move(out));
    };
    return s;
}

TEST(FakeStatements, RecordsWhatWasSentInOrder) {
    FakeStatements fake;
    std::vector<Seen> seen;
    std::string claim_sql = "SELECT claim($1, $2)";
    auto claim = statement(claim_sql, seen, "claim");
    claim.prepared_name = "seesaw_claim";
    claim.params = {"worker", "default"};
    claim.null_params = {false, true};
    fake.send(std::move(claim));
    claim_sql = "changed after send()";  // the fake kept its own copy
    std::string other_sql = "SELECT 1";
    fake.send(statement(other_sql, seen, "other"));

    ASSERT_EQ(fake.size(), 2u);
    EXPECT_EQ(fake.sent(0).prepared_name, "seesaw_claim");
    EXPECT_EQ(fake.sent(0).sql, "SELECT claim($1, $2)");
    EXPECT_EQ(fake.sent(0).params, (std::vector<std::string>{"worker", "default"}));
    EXPECT_EQ(fake.sent(0).null_params, (std::vector<bool>{false, true}));
    EXPECT_EQ(fake.sent(1).prepared_name, "");
    EXPECT_EQ(fake.last().sql, "SELECT 1");
    EXPECT_EQ(fake.unanswered(), 2u);
    EXPECT_EQ(fake.oldest().sql, "SELECT claim($1, $2)");
    EXPECT_TRUE(seen.empty()) << "nothing is answered until the test answers";
}

TEST(FakeStatements, RowsAndNullsReachTheCallbackAsARealResult) {
    FakeStatements fake;
    std::vector<Seen> seen;
    const std::string sql = "SELECT id, state, note FROM jobs";
    fake.send(statement(sql, seen, "select"));
    fake.answer_rows({"id", "state", "note"}, {{"1", "failed", std::nullopt}, {"2", "", "a\nb"}});

    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].ok);
    EXPECT_EQ(seen[0].status, PGRES_TUPLES_OK);
    EXPECT_EQ(seen[0].columns, (std::vector<std::string>{"id", "state", "note"}));
    ASSERT_EQ(seen[0].values.size(), 2u);
    EXPECT_EQ(seen[0].values[0], (std::vector<std::string>{"1", "failed", "<NULL>"}));
    EXPECT_EQ(seen[0].values[1], (std::vector<std::string>{"2", "", "a\nb"})) << "an empty value is not NULL";
    EXPECT_TRUE(fake.sent(0).answered);
    EXPECT_EQ(fake.unanswered(), 0u);
}

TEST(FakeStatements, CommandOkHasNoRows) {
    FakeStatements fake;
    std::vector<Seen> seen;
    const std::string sql = "SET synchronous_commit = off";
    fake.send(statement(sql, seen, "set"));
    fake.answer_ok();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].ok);
    EXPECT_EQ(seen[0].status, PGRES_COMMAND_OK);
    EXPECT_TRUE(seen[0].values.empty());
}

TEST(FakeStatements, AnswersReachTheCallbacksInTheOrderTheStatementsWereSent) {
    FakeStatements fake;
    std::vector<Seen> seen;
    const std::string sql = "SELECT 1";
    fake.send(statement(sql, seen, "first"));
    fake.send(statement(sql, seen, "second"));
    fake.send(statement(sql, seen, "third"));

    fake.answer(2, FakeAnswer::ok());
    fake.answer(1, FakeAnswer::rows({"n"}, {{"2"}}));
    EXPECT_TRUE(seen.empty()) << "a later answer waits for the earlier ones, as on a connection";
    EXPECT_EQ(fake.oldest_unanswered(), 0u);

    fake.answer_ok();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].label, "first");
    EXPECT_EQ(seen[1].label, "second");
    EXPECT_EQ(seen[1].values, (std::vector<std::vector<std::string>>{{"2"}}));
    EXPECT_EQ(seen[2].label, "third");
    EXPECT_THROW(fake.answer_ok(), std::logic_error) << "nothing is left to answer";
    EXPECT_THROW(fake.answer(1, FakeAnswer::ok()), std::logic_error) << "answered already";
}

TEST(FakeStatements, FailuresOfEveryKindCarryTheirMessageAndSqlstate) {
    FakeStatements fake;
    std::vector<Seen> seen;
    const std::string sql = "UPDATE jobs SET ...";
    for (const char* label : {"rejected", "in doubt", "not sent"}) fake.send(statement(sql, seen, label));
    fake.answer_failure(FailureKind::rejected, "duplicate key [constraint jobs_pkey]", "23505");
    fake.answer_failure(FailureKind::in_doubt, "complete connection lost: server closed the connection");
    fake.answer(FakeAnswer::failure(FailureKind::not_sent, "complete connection is not connected"));

    ASSERT_EQ(seen.size(), 3u);
    EXPECT_FALSE(seen[0].ok);
    EXPECT_EQ(seen[0].kind, FailureKind::rejected);
    EXPECT_EQ(seen[0].sqlstate, "23505");
    EXPECT_EQ(seen[0].message, "duplicate key [constraint jobs_pkey]");
    EXPECT_EQ(seen[1].kind, FailureKind::in_doubt);
    EXPECT_EQ(seen[1].message, "complete connection lost: server closed the connection");
    EXPECT_EQ(seen[2].kind, FailureKind::not_sent);
}

TEST(FakeStatements, ALostConnectionLeavesTheSentInDoubtAndFailsNewSendsAtOnce) {
    FakeStatements fake;
    std::vector<Seen> seen;
    const std::string sql = "SELECT 1";
    fake.send(statement(sql, seen, "answered"));
    fake.send(statement(sql, seen, "cut off 1"));
    fake.send(statement(sql, seen, "cut off 2"));
    fake.answer_ok();
    fake.lose_connection("server closed the connection");
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_TRUE(seen[0].ok);
    EXPECT_EQ(seen[1].kind, FailureKind::in_doubt);
    EXPECT_EQ(seen[2].kind, FailureKind::in_doubt);
    EXPECT_EQ(seen[2].message, "server closed the connection");

    fake.send(statement(sql, seen, "while down"));
    ASSERT_EQ(seen.size(), 4u) << "failed from inside send()";
    EXPECT_EQ(seen[3].kind, FailureKind::not_sent);
    EXPECT_EQ(fake.size(), 4u) << "recorded all the same";

    fake.reconnect();
    fake.send(statement(sql, seen, "after"));
    EXPECT_EQ(seen.size(), 4u);
    fake.answer_ok();
    EXPECT_EQ(seen.back().label, "after");
}

TEST(FakeStatements, ACallbackMaySendAndTheNewStatementWaitsForItsOwnAnswer) {
    FakeStatements fake;
    std::vector<std::string> order;
    const std::string sql = "SELECT 1";
    Statement first;
    first.sql = &sql;
    first.done = [&](const PGresult*, const StatementFailure*) {
        order.push_back("first");
        Statement next;
        next.sql = &sql;
        next.done = [&](const PGresult*, const StatementFailure*) { order.push_back("next"); };
        fake.send(std::move(next));
    };
    fake.send(std::move(first));
    Statement second;
    second.sql = &sql;
    second.done = [&](const PGresult*, const StatementFailure*) { order.push_back("second"); };
    fake.send(std::move(second));

    fake.answer(1, FakeAnswer::ok());
    fake.answer(0, FakeAnswer::ok());
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
    ASSERT_EQ(fake.size(), 3u);
    EXPECT_EQ(fake.unanswered(), 1u);
    fake.answer_ok();
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "next"}));
}

TEST(FakeStatements, RowsMustMatchTheColumns) {
    EXPECT_THROW(FakeAnswer::rows({"a", "b"}, {{"1"}}), std::invalid_argument);
}

}  // namespace
}  // namespace seesaw::test

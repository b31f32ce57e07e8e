// The completer's batching, fencing and rewrites, driven through a fake of
// the statement interface (no database).
#include "completer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "fake_statements.hpp"
#include "queue_state.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/log.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

using namespace std::chrono_literals;
using test::FakeRow;
using test::FakeStatements;

class CompleterTest : public ::testing::Test {
protected:
    explicit CompleterTest(bool delete_succeeded = false)
        : sql_("fake", delete_succeeded),
          queue_(QueueOptions("default", 2), 0, 0, 1ms),
          completer_(db_, sql_, worker_, Publisher(bus_),
                     Completer::Hooks{[this](Task& t) { settled_.push_back(&t); },
                                      [this](Task&, std::chrono::milliseconds d) { retry_due_.push_back(d); }}) {
        subs_.push_back(bus_.subscribe<JobSucceeded>([this](const JobSucceeded& e) { succeeded_.push_back(e.job.id); }));
        subs_.push_back(bus_.subscribe<LeaseLost>([this](const LeaseLost& e) { lost_.push_back(e.job.id); }));
        subs_.push_back(bus_.subscribe<JobRetried>([this](const JobRetried& e) { retried_.push_back(e.job.id); }));
        subs_.push_back(bus_.subscribe<JobDeadLettered>([this](const JobDeadLettered& e) { dead_.push_back(e.job.id); }));
        set_logger([this](LogLevel level, std::string_view message) {
            if (level >= LogLevel::error) errors_.emplace_back(message);
        });
        completer_.set_ready(true);
    }
    ~CompleterTest() override { set_logger(nullptr); }

    // A task whose handler returned (state writing).
    Task& returned() {
        auto task = std::make_unique<Task>();
        task->id = JobId::generate();
        task->attempt = 1;
        task->handler = &handler_;
        task->queue = &queue_;
        task->apply(TaskEvent::returned);
        tasks_.push_back(std::move(task));
        return *tasks_.back();
    }
    static FakeRow id_row(const Task& t) { return {t.id.to_string()}; }
    std::vector<std::string> sorted_ids(std::initializer_list<const Task*> tasks) {
        std::vector<JobId> ids;
        for (auto* t : tasks) ids.push_back(t->id);
        std::sort(ids.begin(), ids.end());
        std::string literal = "{";
        for (const auto& id : ids) literal += (literal.size() > 1 ? "," : "") + id.to_string();
        return {literal + "}"};
    }

    const std::string worker_ = "w1";
    FakeStatements db_;
    StoreSql sql_;
    EventBus bus_;
    HandlerEntry handler_{"t", {}, nullptr};
    QueueState queue_;
    Completer completer_;
    std::vector<std::unique_ptr<Task>> tasks_;
    std::vector<Task*> settled_;
    std::vector<std::chrono::milliseconds> retry_due_;
    std::vector<JobId> succeeded_, lost_, retried_, dead_;
    std::vector<std::string> errors_;
    std::vector<Subscription> subs_;
};

TEST_F(CompleterTest, WritesSuccessesInOneFencedStatementSortedById) {
    auto& a = returned();
    auto& b = returned();
    completer_.succeeded(b);
    completer_.succeeded(a);
    completer_.flush();
    ASSERT_EQ(db_.size(), 1u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_succeed");
    EXPECT_EQ(db_.last().sql, sql_.succeed);
    EXPECT_EQ(db_.last().params.at(0), sorted_ids({&a, &b}).at(0));
    EXPECT_EQ(db_.last().params.at(1), "{1,1}");
    EXPECT_EQ(db_.last().params.at(2), worker_);
    EXPECT_FALSE(completer_.idle());
    db_.answer_rows({"id"}, {id_row(a), id_row(b)});
    EXPECT_EQ(succeeded_.size(), 2u);
    EXPECT_EQ(settled_.size(), 2u);
    EXPECT_TRUE(a.settled() && b.settled());
    EXPECT_TRUE(completer_.idle());
}

// PgJobStoreOptions::delete_succeeded: a batch none of whose jobs keeps its
// row goes as a plain DELETE; one that holds a unique job whose key stays
// taken while succeeded goes as the statement that keeps that row.
class DeletingCompleterTest : public CompleterTest {
protected:
    DeletingCompleterTest() : CompleterTest(true) {}
};

TEST_F(DeletingCompleterTest, APlainDeleteUnlessAJobOfTheBatchKeepsItsRow) {
    auto& a = returned();
    auto& b = returned();
    completer_.succeeded(a);
    completer_.succeeded(b);
    completer_.flush();
    ASSERT_EQ(db_.size(), 1u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_succeed_none_kept");
    EXPECT_EQ(db_.last().sql, sql_.succeed_none_kept);
    EXPECT_NE(sql_.succeed_none_kept, sql_.succeed);
    db_.answer_rows({"id"}, {id_row(a), id_row(b)});
    EXPECT_EQ(succeeded_.size(), 2u);

    auto& plain = returned();
    auto& unique = returned();
    unique.keeps_row = true;
    completer_.succeeded(plain);
    completer_.succeeded(unique);
    completer_.flush();
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_succeed");
    EXPECT_EQ(db_.last().sql, sql_.succeed);
    db_.answer_rows({"id"}, {id_row(plain), id_row(unique)});
    EXPECT_EQ(succeeded_.size(), 4u);
    EXPECT_TRUE(lost_.empty());
}

// Completion in the handler's transaction: the worker wrote (or was fenced
// out of) the result itself. The completer only says so and marks the task
// written; it sends nothing and leaves retiring the task to its caller (the
// report step), which would otherwise retire it twice.
TEST_F(CompleterTest, AResultWrittenInTheHandlersTransactionIsReportedWithoutAStatementOrTheSettledHook) {
    auto& committed = returned();
    auto& fenced = returned();
    completer_.written_in_transaction(committed, true, true);
    completer_.written_in_transaction(fenced, false, true);
    EXPECT_EQ(db_.size(), 0u);
    EXPECT_EQ(succeeded_, std::vector<JobId>{committed.id});
    EXPECT_EQ(lost_, std::vector<JobId>{fenced.id});
    EXPECT_TRUE(committed.settled() && fenced.settled());
    EXPECT_TRUE(settled_.empty());
    EXPECT_TRUE(completer_.idle());
}

TEST_F(CompleterTest, AFencedOutSuccessIsReportedAsALostLeaseNeverIgnored) {
    auto& kept = returned();
    auto& fenced = returned();
    completer_.succeeded(kept);
    completer_.succeeded(fenced);
    completer_.flush();
    db_.answer_rows({"id"}, {id_row(kept)});
    ASSERT_EQ(succeeded_, std::vector<JobId>{kept.id});
    ASSERT_EQ(lost_, std::vector<JobId>{fenced.id});
    EXPECT_TRUE(fenced.lease_lost.load());
    EXPECT_TRUE(fenced.settled());
}

TEST_F(CompleterTest, ResultsPileUpWhileAFlushIsInFlightAndGoInTheNextOne) {
    auto& first = returned();
    completer_.succeeded(first);
    completer_.flush();
    auto& second = returned();
    auto& third = returned();
    completer_.succeeded(second);
    completer_.succeeded(third);
    completer_.flush();
    EXPECT_EQ(db_.size(), 1u) << "one write in flight at a time";
    db_.answer_rows({"id"}, {id_row(first)});
    ASSERT_EQ(db_.size(), 2u) << "the answer flushes what piled up";
    EXPECT_EQ(db_.last().params.at(0), sorted_ids({&second, &third}).at(0));
}

TEST_F(CompleterTest, AWriteCutOffIsWrittenAgainIdempotentlyAfterTheReconnect) {
    auto& task = returned();
    completer_.succeeded(task);
    completer_.flush();
    db_.lose_connection();  // the write was sent: in doubt
    completer_.set_ready(false);
    EXPECT_FALSE(task.settled());
    EXPECT_TRUE(task.in_doubt);
    EXPECT_EQ(db_.size(), 1u) << "nothing is sent while the connection is down";
    db_.reconnect();
    completer_.set_ready(true);
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_succeed_again");
    EXPECT_EQ(db_.last().sql, sql_.succeed_again);
    db_.answer_rows({"id"}, {id_row(task)});
    EXPECT_TRUE(task.settled());
    EXPECT_FALSE(task.in_doubt);
    EXPECT_EQ(succeeded_.size(), 1u);
}

TEST_F(CompleterTest, AWriteTheServerRefusedIsTriedAgainAtTheNextTickOnly) {
    auto& task = returned();
    completer_.succeeded(task);
    completer_.flush();
    db_.answer_failure(FailureKind::rejected, "deadlock detected", "40P01");
    ASSERT_EQ(errors_.size(), 1u);
    EXPECT_NE(errors_[0].find("deadlock detected"), std::string::npos) << errors_[0];
    completer_.flush();
    EXPECT_EQ(db_.size(), 1u) << "no hot loop on a refused write";
    completer_.retry_refused();
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_succeed") << "refused: it did not commit";
    db_.answer_rows({"id"}, {id_row(task)});
    EXPECT_TRUE(task.settled());
}

TEST_F(CompleterTest, FailuresAreRetriedDeadLetteredOrFencedOut) {
    auto& retry = returned();
    auto& dead = returned();
    auto& fenced = returned();
    completer_.failed(retry, "boom", FailKind::retryable, 1500ms, 2ms, false);
    completer_.failed(dead, "bad", FailKind::non_retryable, 0ms, 2ms, false);
    completer_.failed(fenced, "late", FailKind::retryable, 10ms, 2ms, false);
    completer_.flush();
    ASSERT_EQ(db_.size(), 1u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_fail");
    ASSERT_EQ(db_.last().params.size(), 6u);
    EXPECT_EQ(db_.last().params.at(2), worker_);
    db_.answer_rows({"id", "status", "attempt", "delay_ms"},
                    {{retry.id.to_string(), "failed", "2", "1500"}, {dead.id.to_string(), "dead_letter", "1", "0"}});
    EXPECT_EQ(retried_, std::vector<JobId>{retry.id});
    EXPECT_EQ(dead_, std::vector<JobId>{dead.id});
    EXPECT_EQ(lost_, std::vector<JobId>{fenced.id});
    EXPECT_EQ(retry_due_, std::vector<std::chrono::milliseconds>{1500ms}) << "the retry wakes its queue when due";
    EXPECT_EQ(settled_.size(), 3u);
}

TEST_F(CompleterTest, ATimeoutsFailureIsWrittenWhileItsHandlerRunsAndSettlesOnlyWhenItReturns) {
    auto task = std::make_unique<Task>();
    task->id = JobId::generate();
    task->handler = &handler_;
    task->queue = &queue_;
    task->apply(TaskEvent::started);
    task->apply(TaskEvent::timed_out);
    completer_.failed(*task, "timed out", FailKind::retryable, 5ms, {}, true);
    completer_.flush();
    db_.answer_rows({"id", "status", "attempt", "delay_ms"}, {});  // fenced out: reported already, nothing more
    EXPECT_TRUE(lost_.empty());
    EXPECT_EQ(task->state, TaskState::running_lost);
    EXPECT_TRUE(settled_.empty());
}

TEST_F(CompleterTest, HandBacksAreWrittenAndCounted) {
    auto task = std::make_unique<Task>();
    task->id = JobId::generate();
    task->handler = &handler_;
    task->queue = &queue_;
    task->apply(TaskEvent::skipped);
    completer_.release(*task);
    completer_.flush();
    ASSERT_EQ(db_.size(), 1u);
    EXPECT_EQ(db_.last().prepared_name, "seesaw_release");
    db_.answer_rows({"id"}, {{task->id.to_string()}});
    EXPECT_EQ(completer_.released(), 1u);
    EXPECT_TRUE(task->settled());
    EXPECT_TRUE(completer_.idle());
}

TEST_F(CompleterTest, ShutdownDropsWhatCouldNotBeWritten) {
    auto& task = returned();
    completer_.set_ready(false);
    completer_.succeeded(task);
    completer_.flush();
    EXPECT_EQ(db_.size(), 0u);
    EXPECT_EQ(completer_.waiting_results(), 1u);
    completer_.drop_waiting();
    EXPECT_TRUE(task.settled());
    EXPECT_TRUE(completer_.idle());
}

}  // namespace
}  // namespace seesaw::detail

// The producer's claims, driven through a fake of the statement interface:
// what a claim asks for, tickets, a stop during an in-flight claim, a claim
// cut off with the connection, and jobs a claim leaves for a free worker.
#include "producer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "completer.hpp"
#include "executor.hpp"
#include "fake_statements.hpp"
#include "loop.hpp"
#include "seesaw/core/event_bus.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

using namespace std::chrono_literals;
using test::FakeRow;
using test::FakeStatements;

const std::vector<std::string> claim_columns = {"id",       "job_type", "queue",   "payload",  "version",
                                                "attempt",  "max_retries", "priority", "run_at", "created_at",
                                                "lease_expires_at", "order", "ticket", "found", "snoozes"};

class ProducerTest : public ::testing::Test {
protected:
    ProducerTest() : sql_("fake") {
        uv_check(uv_loop_init(&loop_), "uv_loop_init");
        executor_ = std::make_unique<Executor>(environment_, [] {});
        executor_->start({2});
        completer_ = std::make_unique<Completer>(complete_, sql_, settings().worker_id, Publisher(bus_),
                                                 Completer::Hooks{[this](Task& t) { tasks_.retire(t); }, {}});
        completer_->set_ready(true);
        producer_ = std::make_unique<Producer>(
            &loop_, work_, sql_, tasks_, *executor_, *completer_, Publisher(bus_),
            std::vector<QueueOptions>{QueueOptions("default", 2, 3)}, settings(),
            Producer::Hooks{[this](std::string_view type) { return type == "t" ? &handler_ : nullptr; },
                            [this] { return running_; }, [] {}});
        queue_ = producer_->queues().front().get();
    }
    ~ProducerTest() override {
        executor_->finish();
        executor_->join();
        EXPECT_TRUE(close_all(&loop_)) << "a handle was left open";
    }
    static Producer::Settings settings() {
        Producer::Settings s;
        s.worker_id = "w1";
        s.schema = "fake";
        s.job_types_literal = "{\"t\"}";
        s.lease = 60'000ms;
        s.listen = false;
        s.poll_interval = 1000ms;
        s.busy_poll_interval = 1ms;
        return s;
    }
    // A claimed row as the claim returns it.
    static FakeRow row(const JobId& id, int order, std::optional<std::int64_t> ticket, std::size_t found) {
        return {id.to_string(), std::string("t"), std::string("default"), std::string("{}"), std::string("1"),
                std::string("1"), std::string("3"), std::string("0"), std::string("0"), std::string("0"),
                std::string("60000000"), std::to_string(order),
                ticket ? std::optional<std::string>(std::to_string(*ticket)) : std::nullopt, std::to_string(found),
                std::string("0")};
    }
    // Starts claiming and answers the pause-state read sent before the first
    // claim: no queue is paused.
    void start_claiming() {
        producer_->set_claiming(true, false);
        auto paused = last_sent(work_, sql_.paused_queues);
        ASSERT_TRUE(paused);
        work_.answer(*paused, test::FakeAnswer::rows({"queue", "paused_at"}, {}));
    }
    // The index of the last statement sent with this SQL.
    std::optional<std::size_t> last_sent(FakeStatements& db, const std::string& sql) {
        for (std::size_t i = db.size(); i-- > 0;)
            if (db.sent(i).sql == sql) return i;
        return std::nullopt;
    }

    uv_loop_t loop_{};
    FakeStatements work_, complete_;
    StoreSql sql_;
    EventBus bus_;
    RunEnvironment environment_{"w1", nullptr, &bus_, nullptr, std::type_index(typeid(void))};
    HandlerEntry handler_{"t", {}, [](std::string_view, JobContext&) {}};
    TaskRegistry tasks_;
    std::unique_ptr<Executor> executor_;
    std::unique_ptr<Completer> completer_;
    std::unique_ptr<Producer> producer_;
    QueueState* queue_ = nullptr;
    bool running_ = true;
};

TEST_F(ProducerTest, AClaimAsksForTheRoomLeftAndCountsOnlyFreeWorkersAsStarted) {
    start_claiming();
    auto claim = last_sent(work_, sql_.claim);
    ASSERT_TRUE(claim);
    const auto& params = work_.sent(*claim).params;
    // worker, queue, limit (2 workers + 3 prefetch), types, lease, free workers, ticket base, durable
    EXPECT_EQ(params.at(0), "w1");
    EXPECT_EQ(params.at(1), "default");
    EXPECT_EQ(params.at(2), "5");
    EXPECT_EQ(params.at(5), "2");
    EXPECT_EQ(params.at(7), "on");
    const auto base = std::stoll(params.at(6));
    std::vector<JobId> ids;
    std::vector<FakeRow> rows;
    for (int i = 1; i <= 5; ++i) {
        ids.push_back(JobId::generate());
        rows.push_back(row(ids.back(), i, i <= 2 ? std::nullopt : std::optional<std::int64_t>(base + i), 5));
    }
    work_.answer(*claim, test::FakeAnswer::rows(claim_columns, rows));
    EXPECT_EQ(queue_->held, 5u);
    EXPECT_EQ(queue_->progress.held(), 3u) << "three wait ahead of the workers, with tickets";
    EXPECT_GT(queue_->next_ticket, base) << "the next claim's tickets come after these";
    // A full claim: another one goes out at once, for no room (held = capacity): none.
    EXPECT_EQ(*last_sent(work_, sql_.claim), *claim);
}

TEST_F(ProducerTest, AClaimAnsweredAfterTheStopBeganHandsEveryJobBack) {
    start_claiming();
    auto claim = last_sent(work_, sql_.claim);
    ASSERT_TRUE(claim);
    running_ = false;  // stop() while the claim is in flight
    producer_->stop();
    const auto a = JobId::generate(), b = JobId::generate();
    work_.answer(*claim, test::FakeAnswer::rows(claim_columns, {row(a, 1, std::nullopt, 2), row(b, 2, std::nullopt, 2)}));
    EXPECT_EQ(queue_->held, 0u) << "nothing went to a worker";
    ASSERT_EQ(complete_.size(), 1u);
    EXPECT_EQ(complete_.last().sql, sql_.release);
    EXPECT_FALSE(producer_->claim_in_flight());
    complete_.answer_rows({"id"}, {{a.to_string()}, {b.to_string()}});
    EXPECT_EQ(completer_->released(), 2u);
    EXPECT_TRUE(tasks_.empty()) << "both settled and retired";
}

TEST_F(ProducerTest, AfterAClaimWasCutOffTheReconnectHandsBackWhatItMayHaveLeasedFirst) {
    producer_->set_claiming(true, false);
    auto claim = last_sent(work_, sql_.claim);
    ASSERT_TRUE(claim);
    work_.lose_connection();  // the claim may have committed
    producer_->set_claiming(false, false);
    work_.reconnect();
    const auto before = work_.size();
    producer_->set_claiming(true, true);
    ASSERT_GT(work_.size(), before);
    EXPECT_EQ(work_.sent(before).sql, sql_.release_unknown) << "before any new claim";
    EXPECT_EQ(work_.sent(before).params.at(0), "w1");
    auto next_claim = last_sent(work_, sql_.claim);
    ASSERT_TRUE(next_claim);
    EXPECT_GT(*next_claim, before);
}

TEST_F(ProducerTest, JobsAClaimLeftForAFreeWorkerAreClaimedWhenOneFreesUp) {
    start_claiming();
    auto claim = last_sent(work_, sql_.claim);
    // It found 4 due jobs and took 1: the others lost a lease unstarted and
    // wait for a free worker.
    work_.answer(*claim, test::FakeAnswer::rows(claim_columns, {row(JobId::generate(), 1, std::nullopt, 4)}));
    EXPECT_TRUE(queue_->wanted) << "not drained: the next freed slot claims again";
    const auto claims = work_.size();
    producer_->claim_where_wanted();
    EXPECT_GT(work_.size(), claims);
    EXPECT_EQ(work_.last().sql, sql_.claim);
}

TEST_F(ProducerTest, APausedQueueDoesNotClaimHandsBackWhatAClaimInFlightBroughtAndClaimsWhenResumed) {
    producer_->set_claiming(true, false);
    auto paused = last_sent(work_, sql_.paused_queues);
    auto claim = last_sent(work_, sql_.claim);
    ASSERT_TRUE(paused);
    ASSERT_TRUE(claim);
    EXPECT_LT(*paused, *claim) << "the pause state is read before the catch-up claim";
    work_.answer(*paused, test::FakeAnswer::rows({"queue", "paused_at"}, {{std::string("default"), std::string("0")}}));
    EXPECT_TRUE(queue_->paused);
    // The claim was in flight: what it brought goes back unstarted.
    const auto a = JobId::generate();
    work_.answer(*claim, test::FakeAnswer::rows(claim_columns, {row(a, 1, std::nullopt, 1)}));
    EXPECT_EQ(queue_->held, 0u) << "nothing went to a worker";
    ASSERT_EQ(complete_.size(), 1u);
    EXPECT_EQ(complete_.last().sql, sql_.release);
    complete_.answer_rows({"id"}, {{a.to_string()}});

    const auto sent = work_.size();
    producer_->wake_all();
    producer_->poll();
    for (std::size_t i = sent; i < work_.size(); ++i) EXPECT_NE(work_.sent(i).sql, sql_.claim) << "paused: no claim";

    producer_->set_paused("default", false);
    EXPECT_FALSE(queue_->paused);
    EXPECT_EQ(work_.last().sql, sql_.claim) << "resumed: it claims at once";
}

TEST_F(ProducerTest, APauseStateReadBeforeANotificationDoesNotUndoIt) {
    producer_->set_claiming(true, false);
    auto paused = last_sent(work_, sql_.paused_queues);
    ASSERT_TRUE(paused);
    producer_->set_paused("default", true);  // the notification overtakes the read
    work_.answer(*paused, test::FakeAnswer::rows({"queue", "paused_at"}, {}));
    EXPECT_TRUE(queue_->paused) << "the read, sent before the notification, is stale";
}

}  // namespace
}  // namespace seesaw::detail

// The periodic part's policies, through a fake of the statement interface:
// what it records on winning leadership, the one catch-up insert after
// missed slots, and answers of an earlier leadership ignored.
#include "periodic.hpp"

#include <gtest/gtest.h>

#include "fake_statements.hpp"
#include "loop.hpp"
#include "pg.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

using namespace std::chrono_literals;
using test::FakeStatements;

struct Hourly {};

}  // namespace
}  // namespace seesaw::detail

template <>
struct seesaw::JobTraits<seesaw::detail::Hourly> {
    static constexpr std::string_view name = "hourly";
    static void encode(const seesaw::detail::Hourly&, PayloadWriter&) {}
    static seesaw::detail::Hourly decode(const PayloadReader&) { return {}; }
};

namespace seesaw::detail {
namespace {

class PeriodicUnitTest : public ::testing::Test {
protected:
    PeriodicUnitTest() : sql_("fake") {
        uv_check(uv_loop_init(&loop_), "uv_loop_init");
        entry_ = std::make_unique<PeriodicEntry>(PeriodicEntry{
            "report", Schedule::parse("@hourly"), "hourly", "default", true, [](const std::string& key) {
                return JobStore::make_new_job(Hourly{}, EnqueueOptions{.unique_key = key});
            }});
        periodic_ = std::make_unique<Periodic>(&loop_, db_, sql_, Publisher(bus_), "w1",
                                               std::vector<const PeriodicEntry*>{entry_.get()},
                                               [this](std::int64_t term) { fenced_out_.push_back(term); });
        subscription_ = bus_.subscribe<PeriodicJobEnqueued>([this](const PeriodicJobEnqueued& e) {
            enqueued_.push_back(e.slot);
            caught_up_ = e.caught_up;
        });
    }
    ~PeriodicUnitTest() override {
        periodic_->stop();
        EXPECT_TRUE(close_all(&loop_)) << "a handle was left open";
    }
    // The schedule's row as the register statement returns it: its last slot.
    void answer_register(std::size_t index, std::optional<Timestamp> last) {
        db_.answer(index, test::FakeAnswer::rows(
                              {"leading", "last_slot"},
                              {{std::string("t"), last ? std::optional<std::string>(
                                                             pg::to_text(last->time_since_epoch().count()))
                                                       : std::nullopt}}));
    }
    std::size_t count_sent(const std::string& sql) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < db_.size(); ++i) n += db_.sent(i).sql == sql ? 1 : 0;
        return n;
    }
    static Timestamp this_hour() {
        const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
        return std::chrono::floor<std::chrono::hours>(now);
    }

    uv_loop_t loop_{};
    FakeStatements db_;
    StoreSql sql_;
    EventBus bus_;
    std::unique_ptr<PeriodicEntry> entry_;
    std::unique_ptr<Periodic> periodic_;
    Subscription subscription_;
    std::vector<Timestamp> enqueued_;
    bool caught_up_ = false;
    std::vector<std::int64_t> fenced_out_;
};

TEST_F(PeriodicUnitTest, WinningLeadershipRecordsTheScheduleWithItsNextSlot) {
    periodic_->set_leader(true, 7);
    ASSERT_EQ(db_.size(), 1u);
    const auto& sent = db_.sent(0);
    EXPECT_EQ(sent.sql, sql_.periodic_register);
    EXPECT_EQ(sent.params.at(0), "report");
    EXPECT_EQ(sent.params.at(1), "@hourly");
    EXPECT_EQ(sent.params.at(2), "hourly");
    EXPECT_EQ(sent.params.at(3), "default");
    const auto next = std::stoll(sent.params.at(4));
    const auto hour_us = std::chrono::duration_cast<std::chrono::microseconds>(1h).count();
    EXPECT_EQ(next % hour_us, 0) << "the next whole hour";
    EXPECT_EQ(sent.params.at(5), "w1");
    EXPECT_EQ(sent.params.at(6), "w1") << "fenced by the leader id";
    EXPECT_EQ(sent.params.at(7), "7") << "and the term";
    // A schedule never seen before: nothing for the past.
    answer_register(0, std::nullopt);
    EXPECT_EQ(count_sent(sql_.periodic_insert), 0u);
}

TEST_F(PeriodicUnitTest, MissedSlotsAreCaughtUpOnceWithTheLatest) {
    periodic_->set_leader(true, 7);
    answer_register(0, this_hour() - 3h);
    ASSERT_EQ(count_sent(sql_.periodic_insert), 1u) << "one insert for three missed slots";
    const auto& insert = db_.last();
    EXPECT_EQ(insert.sql, sql_.periodic_insert);
    const auto slot = std::stoll(insert.params.at(1));
    // The latest missed slot is this hour (unless the hour turned meanwhile).
    EXPECT_GE(slot, (this_hour() - 1h).time_since_epoch().count());
    EXPECT_EQ(insert.params.at(9), "periodic:report:" + format_timestamp(Timestamp(std::chrono::microseconds(slot))));
    EXPECT_EQ(insert.params.at(10), "w1");
    EXPECT_EQ(insert.params.at(11), "7");
    db_.answer(test::FakeAnswer::rows({"leading", "advanced", "id"},
                                      {{std::string("t"), std::string("t"), JobId::generate().to_string()}}));
    ASSERT_EQ(enqueued_.size(), 1u);
    EXPECT_TRUE(caught_up_);
}

TEST_F(PeriodicUnitTest, AnAnswerOfAnEarlierLeadershipIsIgnored) {
    periodic_->set_leader(true, 7);
    periodic_->set_leader(false);  // the connection went while the record was in flight
    periodic_->set_leader(true, 7);
    ASSERT_EQ(count_sent(sql_.periodic_register), 2u);
    answer_register(0, this_hour() - 3h);
    EXPECT_EQ(count_sent(sql_.periodic_insert), 0u) << "the first term's answer acts on nothing";
    answer_register(1, this_hour() - 3h);
    EXPECT_EQ(count_sent(sql_.periodic_insert), 1u);
}

TEST_F(PeriodicUnitTest, AnInsertFencedOutByANewerTermIsReportedAndPublishesNothing) {
    periodic_->set_leader(true, 7);
    answer_register(0, this_hour() - 3h);
    ASSERT_EQ(count_sent(sql_.periodic_insert), 1u);
    // Another dispatcher took the row over: the fence held, nothing was inserted.
    db_.answer(test::FakeAnswer::rows({"leading", "advanced", "id"},
                                      {{std::string("f"), std::string("f"), std::nullopt}}));
    EXPECT_TRUE(enqueued_.empty());
    EXPECT_EQ(fenced_out_, std::vector<std::int64_t>{7});
}

TEST_F(PeriodicUnitTest, ARegisterFencedOutIsReportedAndInsertsNothing) {
    periodic_->set_leader(true, 7);
    db_.answer(test::FakeAnswer::rows({"leading", "last_slot"}, {{std::string("f"), std::nullopt}}));
    EXPECT_EQ(fenced_out_, std::vector<std::int64_t>{7});
    EXPECT_EQ(count_sent(sql_.periodic_insert), 0u);
}

TEST_F(PeriodicUnitTest, AFollowerSendsNothing) {
    periodic_->set_leader(false);
    EXPECT_EQ(db_.size(), 0u);
    periodic_->stop();
    periodic_->set_leader(true, 7);
    EXPECT_EQ(db_.size(), 0u) << "stopped for good";
}

}  // namespace
}  // namespace seesaw::detail

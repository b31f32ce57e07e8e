// Maintenance leadership's state machine, through a fake of the statement
// interface: elect, renew under the same term, step down when the row is
// refused, a fenced write finds the term gone, the connection goes or the
// local deadline passes unrenewed; resign on a clean stop.
#include "leadership.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_statements.hpp"
#include "loop.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

using namespace std::chrono_literals;
using test::FakeAnswer;
using test::FakeStatements;

class LeadershipTest : public ::testing::Test {
protected:
    LeadershipTest() : sql_("fake") { uv_check(uv_loop_init(&loop_), "uv_loop_init"); }
    ~LeadershipTest() override {
        if (leadership_) leadership_->stop();
        EXPECT_TRUE(close_all(&loop_)) << "a handle was left open";
    }
    void make(std::chrono::milliseconds ttl = 15s, std::chrono::milliseconds renew = 5s) {
        leadership_ = std::make_unique<Leadership>(
            &loop_, db_, sql_, Leadership::Settings{"w1", ttl, renew},
            Leadership::Hooks{[this](std::int64_t term) { events_.push_back("won " + std::to_string(term)); },
                              [this](std::int64_t term, std::string_view) {
                                  events_.push_back("lost " + std::to_string(term));
                              }});
    }
    void answer_term(std::int64_t term) {
        db_.answer(FakeAnswer::rows({"term"}, {{std::to_string(term)}}));
    }
    void answer_refused() { db_.answer(FakeAnswer::rows({"term"}, {})); }

    uv_loop_t loop_{};
    FakeStatements db_;
    StoreSql sql_;
    std::unique_ptr<Leadership> leadership_;
    std::vector<std::string> events_;
};

TEST_F(LeadershipTest, TheRenewIntervalIsTheReclaimIntervalOrAThirdOfTheTtlIfShorter) {
    EXPECT_EQ(Leadership::renew_interval_for(5s, 15s), 5s);
    EXPECT_EQ(Leadership::renew_interval_for(5s, 3s), 1s);
    EXPECT_EQ(Leadership::renew_interval_for(200ms, 1s), 200ms);
}

TEST_F(LeadershipTest, AReadyConnectionElectsAtOnceAndARenewalKeepsTheTerm) {
    make();
    leadership_->set_ready(true);
    ASSERT_EQ(db_.size(), 1u);
    EXPECT_EQ(db_.sent(0).sql, sql_.elect);
    EXPECT_EQ(db_.sent(0).params, (std::vector<std::string>{"w1", "15000", "0"})) << "no term held yet";
    answer_term(1);
    EXPECT_EQ(events_, std::vector<std::string>{"won 1"});
    EXPECT_TRUE(leadership_->leading());
    EXPECT_EQ(leadership_->term(), 1);

    leadership_->tick();
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.sent(1).params.at(2), "1") << "a renewal names the term it holds";
    answer_term(1);
    EXPECT_EQ(events_, std::vector<std::string>{"won 1"}) << "a renewal changes nothing";
    EXPECT_EQ(leadership_->term(), 1);
}

TEST_F(LeadershipTest, AFollowerWhoseElectionIsRefusedStaysAFollower) {
    make();
    leadership_->set_ready(true);
    answer_refused();
    EXPECT_TRUE(events_.empty());
    EXPECT_FALSE(leadership_->leading());
    EXPECT_EQ(leadership_->term(), 0);
}

TEST_F(LeadershipTest, ARefusedRenewalStepsDownAndForgetsTheTerm) {
    make();
    leadership_->set_ready(true);
    answer_term(3);
    leadership_->tick();
    answer_refused();  // another dispatcher took the row over
    EXPECT_EQ(events_, (std::vector<std::string>{"won 3", "lost 3"}));
    EXPECT_FALSE(leadership_->leading());
    leadership_->tick();
    EXPECT_EQ(db_.last().params.at(2), "0") << "it asks as a follower";
}

TEST_F(LeadershipTest, ARenewalAnsweredWithANewTermIsANewLeadership) {
    make();
    leadership_->set_ready(true);
    answer_term(3);
    leadership_->tick();
    answer_term(5);  // the row had expired, others came and went, and it took it again
    EXPECT_EQ(events_, (std::vector<std::string>{"won 3", "lost 3", "won 5"}));
    EXPECT_EQ(leadership_->term(), 5);
}

TEST_F(LeadershipTest, AFencedWriteOfTheCurrentTermStepsDownOneOfAnEarlierTermDoesNot) {
    make();
    leadership_->set_ready(true);
    answer_term(4);
    leadership_->fenced_out(3);
    EXPECT_TRUE(leadership_->leading()) << "an answer of an earlier term";
    leadership_->fenced_out(4);
    EXPECT_EQ(events_, (std::vector<std::string>{"won 4", "lost 4"}));
    EXPECT_FALSE(leadership_->leading());
}

TEST_F(LeadershipTest, ALostConnectionStopsActingAndAReconnectRenewsTheSameTerm) {
    make();
    leadership_->set_ready(true);
    answer_term(2);
    db_.lose_connection();
    leadership_->set_ready(false);
    EXPECT_EQ(events_, (std::vector<std::string>{"won 2", "lost 2"}));
    EXPECT_FALSE(leadership_->leading());
    db_.reconnect();
    leadership_->set_ready(true);
    EXPECT_EQ(db_.last().params.at(2), "2") << "the row may still be its own";
    answer_term(2);
    EXPECT_EQ(events_, (std::vector<std::string>{"won 2", "lost 2", "won 2"}));
}

TEST_F(LeadershipTest, ALeaderWhoseRenewalIsNotAnsweredStepsDownAtItsDeadline) {
    make(60ms, 20ms);
    leadership_->set_ready(true);
    answer_term(1);
    ASSERT_TRUE(leadership_->leading());
    // The renewals the renew timer sends are never answered.
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (events_.size() < 2 && std::chrono::steady_clock::now() < give_up) uv_run(&loop_, UV_RUN_ONCE);
    EXPECT_EQ(events_, (std::vector<std::string>{"won 1", "lost 1"}));
    EXPECT_FALSE(leadership_->leading());
    EXPECT_EQ(db_.size(), 2u) << "one renewal in flight at a time";
}

TEST_F(LeadershipTest, ResignExpiresTheRowOfItsTermAndElectsNoMore) {
    make();
    leadership_->set_ready(true);
    answer_term(6);
    bool answered = false;
    leadership_->resign([&] { answered = true; });
    EXPECT_EQ(events_, (std::vector<std::string>{"won 6", "lost 6"}));
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.sent(1).sql, sql_.resign);
    EXPECT_EQ(db_.sent(1).params, (std::vector<std::string>{"w1", "6"}));
    EXPECT_FALSE(answered) << "the stop waits for the answer";
    db_.answer_ok();
    EXPECT_TRUE(answered);
    leadership_->tick();
    leadership_->set_ready(true);
    EXPECT_EQ(db_.size(), 2u) << "stopped for good";
}

TEST_F(LeadershipTest, AFollowerResignsWithoutAWord) {
    make();
    leadership_->set_ready(true);
    answer_refused();
    bool answered = false;
    leadership_->resign([&] { answered = true; });
    EXPECT_TRUE(answered) << "nothing to wait for";
    EXPECT_EQ(db_.size(), 1u);
    EXPECT_TRUE(events_.empty());
}

// A stop that comes while the first election is in flight: if the election
// wins, its row is expired at once (found as a leader row left valid after a
// quick start and stop); if not, there is nothing to resign.
TEST_F(LeadershipTest, AResignDuringAnElectionInFlightExpiresTheRowItWins) {
    make();
    leadership_->set_ready(true);
    bool answered = false;
    leadership_->resign([&] { answered = true; });
    EXPECT_FALSE(answered) << "the election's answer decides";
    answer_term(3);
    EXPECT_TRUE(events_.empty()) << "a stopped dispatcher does not start leading";
    ASSERT_EQ(db_.size(), 2u);
    EXPECT_EQ(db_.sent(1).sql, sql_.resign);
    EXPECT_EQ(db_.sent(1).params, (std::vector<std::string>{"w1", "3"}));
    EXPECT_FALSE(answered);
    db_.answer_ok();
    EXPECT_TRUE(answered);
}

TEST_F(LeadershipTest, AResignDuringARefusedElectionSendsNothingMore) {
    make();
    leadership_->set_ready(true);
    bool answered = false;
    leadership_->resign([&] { answered = true; });
    answer_refused();
    EXPECT_TRUE(answered);
    EXPECT_EQ(db_.size(), 1u);
}

}  // namespace
}  // namespace seesaw::detail

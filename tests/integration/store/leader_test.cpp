// Maintenance leadership by a row with an expiry (migration 0012), as the
// dispatcher sends it (StoreSql): election, renewal under the same term,
// takeover under a new term once the row expired, resignation, and the
// fence of every leader write by its term.
#include <future>
#include <thread>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class LeaderRow : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        leaders_ = std::make_unique<detail::StoreSql>(schema_);
        conn_.emplace(connect());
    }

    // The term won, or 0 when the election was refused.
    std::int64_t elect(const std::string& id, std::int64_t held, std::int64_t ttl_ms = 60'000) {
        return elect_on(*conn_, id, held, ttl_ms);
    }
    std::int64_t elect_on(Connection& conn, const std::string& id, std::int64_t held, std::int64_t ttl_ms = 60'000) {
        auto rows = conn.execute(leaders_->elect, {id, std::to_string(ttl_ms), std::to_string(held)});
        return rows.rows() == 0 ? 0 : rows.get_int64(0, 0);
    }
    // Time passes: the row has expired (by the server's clock).
    void expire() { sql("UPDATE leaders SET expires_at = now() - interval '1 second'"); }
    std::string holder() {
        auto row = sql("SELECT leader_id || ' ' || term FROM leaders WHERE name = 'maintenance'");
        return row.rows() == 0 ? "" : std::string(row.get(0, 0));
    }
    // A job whose lease expired, held by a dispatcher that died.
    JobId expired_lease() {
        auto id = store_->enqueue(job_of("crashy"));
        store_->claim_ready("dead", 1);
        sql("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::uuid", {id.to_string()});
        return id;
    }
    // leader_reclaim as the leader `id` under `term` → leading, count.
    std::pair<bool, std::int64_t> reclaim(const std::string& id, std::int64_t term) {
        auto r = conn_->execute(leaders_->leader_reclaim,
                                {std::to_string(detail::maintenance_batch), "0", "0", schema_, id,
                                 std::to_string(term)});
        EXPECT_EQ(r.rows(), 1u);
        return {r.get(0, 0) == "t", r.get_int64(0, 1)};
    }

    std::unique_ptr<detail::StoreSql> leaders_;
    std::optional<Connection> conn_;
};

TEST_F(LeaderRow, TheFirstElectedHasTermOneARenewalKeepsItAndNoOtherGetsInUntilItExpires) {
    EXPECT_EQ(elect("a", 0), 1);
    EXPECT_EQ(elect("a", 1), 1) << "a renewal keeps the term";
    EXPECT_EQ(elect("b", 0), 0) << "the row is a's and valid";
    EXPECT_EQ(elect("b", 1), 0) << "the term is a's, not b's";
    EXPECT_EQ(elect("a", 0), 0) << "a that forgot its term (restarted) waits like anyone";
    EXPECT_EQ(holder(), "a 1");

    expire();
    EXPECT_EQ(elect("b", 0), 2) << "a takeover is a new term";
    EXPECT_EQ(holder(), "b 2");
    EXPECT_EQ(elect("a", 1), 0) << "a replaced leader does not get its term back";
    EXPECT_EQ(elect("a", 2), 0) << "nor b's";
    EXPECT_EQ(elect("b", 2), 2);
}

TEST_F(LeaderRow, ALeaderWhoseRowExpiredUntakenRenewsUnderItsTerm) {
    ASSERT_EQ(elect("a", 0), 1);
    expire();
    EXPECT_EQ(elect("a", 1), 1) << "no one led in between";
    expire();
    EXPECT_EQ(elect("a", 0), 2) << "without its term it is a takeover";
}

TEST_F(LeaderRow, ResignLetsAnotherInAtOnceUnderANewTerm) {
    ASSERT_EQ(elect("a", 0), 1);
    conn_->execute(leaders_->resign, {"b", "1"});
    conn_->execute(leaders_->resign, {"a", "7"});
    EXPECT_EQ(elect("b", 0), 0) << "only the holder's own term resigns";
    conn_->execute(leaders_->resign, {"a", "1"});
    EXPECT_EQ(elect("b", 0), 2);
    conn_->execute(leaders_->resign, {"a", "1"});
    EXPECT_EQ(holder(), "b 2") << "a stale resignation changes nothing";
    EXPECT_EQ(elect("b", 2), 2);
}

TEST_F(LeaderRow, AReplacedLeadersFencedWritesChangeNothingAndTheNewLeadersDo) {
    ASSERT_EQ(elect("a", 0), 1);
    expire();
    ASSERT_EQ(elect("b", 0), 2);

    const auto id = expired_lease();
    EXPECT_EQ(reclaim("a", 1), std::make_pair(false, std::int64_t{0}));
    EXPECT_EQ(job(id).status, JobStatus::running) << "fenced out: nothing reclaimed";

    // Retention: a succeeded job older than its period.
    const auto done = store_->enqueue(job_of("done"));
    sql("UPDATE jobs SET status = 'succeeded', updated_at = now() - interval '1 day' WHERE id = $1::uuid",
        {done.to_string()});
    auto deleted = conn_->execute(leaders_->leader_cleanup, {"succeeded", Param(), "1000", "1000", "a", "1"});
    EXPECT_EQ(deleted.get(0, 0), "f");
    EXPECT_EQ(deleted.get_int64(0, 1), 0);
    EXPECT_TRUE(store_->get_job(done).has_value());

    // Periodic: the schedule, then a slot's insert.
    auto registered = conn_->execute(leaders_->periodic_register,
                                     {"tick", "@every 1s", "tick", "default", "0", "a", "a", "1"});
    EXPECT_EQ(registered.get(0, 0), "f");
    EXPECT_EQ(count("job_type = 'tick'"), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM periodic_schedules").get_int64(0, 0), 0);
    auto insert_slot = [&](const std::string& leader, std::int64_t term) {
        return conn_->execute(leaders_->periodic_insert,
                              {"tick", "1000000", "2000000", leader, "tick", "default", "{}", "0", "3",
                               "periodic:tick:1", leader, std::to_string(term)});
    };
    EXPECT_EQ(insert_slot("a", 1).get(0, 0), "f");

    // Housekeeping.
    for (const auto* statement : {&leaders_->expire_listeners, &leaders_->expire_progress}) {
        auto r = conn_->execute(*statement, {"0", "a", "1"});
        EXPECT_EQ(r.get(0, 0), "f") << *statement;
    }
    EXPECT_EQ(conn_->execute(leaders_->leader_compact_stats, {"a", "1"}).get(0, 0), "f");

    // The new leader, under its term, does all of it.
    EXPECT_EQ(reclaim("b", 2), std::make_pair(true, std::int64_t{1}));
    EXPECT_EQ(job(id).status, JobStatus::failed);
    deleted = conn_->execute(leaders_->leader_cleanup, {"succeeded", Param(), "1000", "1000", "b", "2"});
    EXPECT_EQ(deleted.get(0, 0), "t");
    EXPECT_EQ(deleted.get_int64(0, 1), 1);
    EXPECT_FALSE(store_->get_job(done).has_value());
    registered = conn_->execute(leaders_->periodic_register,
                                {"tick", "@every 1s", "tick", "default", "0", "b", "b", "2"});
    EXPECT_EQ(registered.get(0, 0), "t");
    EXPECT_TRUE(registered.is_null(0, 1)) << "no slot inserted yet";
    auto inserted = insert_slot("b", 2);
    EXPECT_EQ(inserted.get(0, 0), "t");
    EXPECT_EQ(inserted.get(0, 1), "t");
    EXPECT_FALSE(inserted.is_null(0, 2));
    EXPECT_EQ(count("job_type = 'tick'"), 1);
    for (const auto* statement : {&leaders_->expire_listeners, &leaders_->expire_progress}) {
        EXPECT_EQ(conn_->execute(*statement, {"0", "b", "2"}).get(0, 0), "t") << *statement;
    }
    EXPECT_EQ(conn_->execute(leaders_->leader_compact_stats, {"b", "2"}).get(0, 0), "t");
}

TEST_F(LeaderRow, ALeaderActsOnNothingOnceItsRowExpiredEvenIfNoOneTookIt) {
    ASSERT_EQ(elect("a", 0), 1);
    const auto id = expired_lease();
    expire();
    EXPECT_EQ(reclaim("a", 1), std::make_pair(false, std::int64_t{0}));
    EXPECT_EQ(job(id).status, JobStatus::running);
    ASSERT_EQ(elect("a", 1), 1);
    EXPECT_EQ(reclaim("a", 1), std::make_pair(true, std::int64_t{1}));
    EXPECT_EQ(reclaim("a", 1), std::make_pair(true, std::int64_t{0})) << "leading, nothing left to do";
}

// The guarantee that two leaders never act at once: a takeover of a row
// that expired while the leader's write was in flight waits for that write.
TEST_F(LeaderRow, ATakeoverWaitsForTheFencedWriteInFlight) {
    ASSERT_EQ(elect("a", 0, 3000), 1);
    expired_lease();
    Transaction tx(*conn_);  // a's write, not committed yet: its lock on the row is held
    ASSERT_EQ(reclaim("a", 1), std::make_pair(true, std::int64_t{1}));
    wait_until_db_passes("SELECT expires_at FROM leaders");

    auto b = connect();
    const auto b_pid = std::to_string(PQbackendPID(b.native()));
    auto takeover = std::async(std::launch::async, [&] { return elect_on(b, "b", 0); });
    ASSERT_TRUE(poll_until([&] {
        return sql("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1::int4", {b_pid})
                   .get(0, 0) == "t";
    })) << "the takeover did not wait for the leader's write";
    EXPECT_EQ(holder(), "a 1");
    tx.commit();
    EXPECT_EQ(takeover.get(), 2);
    EXPECT_EQ(holder(), "b 2");
}

}  // namespace
}  // namespace seesaw::test

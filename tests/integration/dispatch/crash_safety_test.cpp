// What a server crash can undo. A claim commits durably before any handler
// starts on it (synchronous_commit = on for the claim's transaction, whatever
// the session or server default), so a crash cannot hand an attempt that is
// already running to another worker. A trigger records the setting each
// claim committed with.
#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

class CrashSafetyTest : public DispatchTest {
protected:
    void SetUp() override {
        DispatchTest::SetUp();
        sql("CREATE TABLE claim_commits (setting text NOT NULL)");
        sql("CREATE FUNCTION record_claim_commit() RETURNS trigger LANGUAGE plpgsql"
            " SET search_path FROM CURRENT AS $$ BEGIN"
            " INSERT INTO claim_commits SELECT current_setting('synchronous_commit') FROM new_jobs"
            " WHERE status = 'running';"
            " RETURN NULL; END $$");
        sql("CREATE TRIGGER record_claim_commit AFTER UPDATE ON jobs REFERENCING NEW TABLE AS new_jobs"
            " FOR EACH STATEMENT EXECUTE FUNCTION record_claim_commit()");
    }

    // Runs `total` jobs through a dispatcher; the settings their claims used.
    std::map<std::string, std::int64_t> claim_settings(DispatcherOptions options, int total) {
        for (int i = 0; i < total; ++i) store_->enqueue(Echo{"job"});
        Dispatcher dispatcher(*store_, std::move(options));
        dispatcher.on<Echo>([](const Echo&, JobContext&) {});
        EventLog log(dispatcher.events());
        dispatcher.start();
        EXPECT_TRUE(log.wait_for([&](const Events& e) { return e.succeeded.size() >= std::size_t(total); }));
        dispatcher.stop();
        std::map<std::string, std::int64_t> out;
        auto rows = sql("SELECT setting, count(*) FROM claim_commits GROUP BY setting");
        for (std::size_t i = 0; i < rows.rows(); ++i) out[std::string(rows.get(i, 0))] = rows.get_int64(i, 1);
        sql("DELETE FROM claim_commits");
        return out;
    }
};

TEST_F(CrashSafetyTest, ClaimsCommitDurablyByDefault) {
    auto settings = claim_settings({.queues = {{"default", 2}}}, 20);
    EXPECT_EQ(settings["on"], 20);
    EXPECT_EQ(settings.size(), 1u) << "no claim committed asynchronously";
}

TEST_F(CrashSafetyTest, ClaimsCommitAsynchronouslyWhenAsked) {
    auto settings = claim_settings({.queues = {{"default", 2}}, .durable_claims = false}, 20);
    EXPECT_EQ(settings["off"], 20);
    EXPECT_EQ(settings.size(), 1u);
}

TEST_F(CrashSafetyTest, TheStoresClaimIsDurable) {
    sql("SET synchronous_commit = off");  // another session's setting changes nothing
    store_->enqueue(Echo{"job"});
    ASSERT_EQ(store_->claim_ready("w", 1).size(), 1u);
    auto rows = sql("SELECT setting FROM claim_commits");
    ASSERT_EQ(rows.rows(), 1u);
    EXPECT_EQ(rows.get(0, 0), "on");
}

}  // namespace
}  // namespace seesaw::test

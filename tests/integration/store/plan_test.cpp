// The claim must stay an index scan however large the table grows: its plan
// with 100,000 jobs present, as the store runs it (default settings, custom
// and generic plans) and as the dispatcher runs it (generic plans, no
// sequential scans).
#include "store_sql.hpp"
#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

class ClaimPlan : public StoreTest {
protected:
    void SetUp() override {
        StoreTest::SetUp();
        // 100,000 jobs: most of them finished or in other queues, 2,000 due
        // in the queue the claim asks for.
        sql("INSERT INTO jobs (job_type, payload, queue, status, worker_id, lease_expires_at)"
            " SELECT 'bench', '{\"n\": 1}',"
            "  CASE WHEN i % 50 = 0 THEN 'default' ELSE 'other' END,"
            "  (ARRAY['pending', 'succeeded', 'dead_letter', 'running', 'failed'])[1 + i % 5]::job_status,"
            "  CASE WHEN i % 5 = 3 THEN 'w' END, CASE WHEN i % 5 = 3 THEN now() + interval '1 hour' END"
            " FROM generate_series(1, 100000) AS i");
        sql("ANALYZE jobs");
        ASSERT_EQ(count(), 100000);
    }

    // The JSON plan of the claim for queue 'default' under `settings`.
    std::string claim_plan(const std::string& settings, const std::string& types) {
        detail::StoreSql statements(schema_);
        auto conn = connect();
        conn.execute(settings);
        conn.execute("PREPARE claim_plan AS " + statements.claim);
        return std::string(
            conn.execute("EXPLAIN (FORMAT JSON) EXECUTE claim_plan('w', 'default', 100, " + types +
                         ", 60000, 8, 1000, 'on', false)")
                .get(0, 0));
    }
};

void expect_index_scan(const std::string& plan, const std::string& what) {
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << what << ":\n" << plan;
    EXPECT_NE(plan.find("idx_jobs_ready"), std::string::npos) << what << ":\n" << plan;
    EXPECT_NE(plan.find("jobs_pkey"), std::string::npos) << what << " (the update finds rows by id):\n" << plan;
    // The locking scan runs once: a second copy would lock other rows than
    // the ones the update takes.
    auto first = plan.find("\"LockRows\"");
    EXPECT_NE(first, std::string::npos) << what << ":\n" << plan;
    EXPECT_EQ(plan.find("\"LockRows\"", first + 1), std::string::npos) << what << " locks twice:\n" << plan;
}

TEST_F(ClaimPlan, IsAnIndexScanAsTheStoreRunsIt) {
    for (const char* types : {"NULL", "ARRAY['bench']"}) {
        expect_index_scan(claim_plan("SET plan_cache_mode = force_custom_plan", types),
                          std::string("custom plan, types ") + types);
        expect_index_scan(claim_plan("SET plan_cache_mode = force_generic_plan", types),
                          std::string("generic plan, types ") + types);
    }
}

TEST_F(ClaimPlan, IsAnIndexScanAsTheDispatcherRunsIt) {
    // The dispatcher's connection settings (dispatch/src/producer.cpp).
    const std::string settings =
        "SELECT set_config('plan_cache_mode', 'force_generic_plan', false),"
        " set_config('enable_seqscan', 'off', false), set_config('jit', 'off', false)";
    for (const char* types : {"NULL", "ARRAY['bench']"})
        expect_index_scan(claim_plan(settings, types), std::string("dispatcher, types ") + types);
}

}  // namespace
}  // namespace seesaw::test

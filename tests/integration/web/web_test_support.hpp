#pragma once
// What the dashboard's tests share: a schema of their own with the job
// list's indexes, and jobs in every state.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_database.hpp"

namespace seesaw::test {

class WebSchemaTest : public SchemaTest {
protected:
    void SetUp() override {
        SchemaTest::SetUp();
    }

    std::vector<JobId> enqueue(std::size_t n, const std::string& type, EnqueueOptions options = {},
                               const std::string& payload = "") {
        std::vector<NewJob> jobs;
        for (std::size_t i = 0; i < n; ++i)
            jobs.push_back(NewJob{type, payload.empty() ? "{\"n\":" + std::to_string(i) + "}" : payload, options});
        return store_->enqueue_batch(jobs);
    }

    // Claims the given jobs (they must be the queue's only due ones, or its first).
    std::vector<ClaimedJob> claim(std::size_t n, const std::string& queue = "default") {
        return store_->claim_ready("web-test-worker", n, ClaimFilter{queue});
    }

    // n jobs that failed every one of their `runs` attempts, the last time
    // for good: each has `runs` entries in its error history.
    std::vector<JobId> dead_letters(std::size_t n, const std::string& type, const std::string& queue = "default",
                                    const std::string& error = "boom", int runs = 1, const std::string& payload = "") {
        auto ids = enqueue(n, type, {.max_retries = runs - 1, .queue = queue}, payload);
        for (int run = 1; run <= runs; ++run) {
            if (run > 1) sql("UPDATE jobs SET run_at = now() WHERE status = 'failed'");
            std::vector<FailureReport> failures;
            for (const auto& job : claim(n, queue))
                failures.push_back(FailureReport{job.lease(), error + " (attempt " + std::to_string(run) + ")",
                                                 ErrorKind::retryable});
            EXPECT_EQ(failures.size(), n);
            store_->mark_failed_batch(failures);
        }
        return ids;
    }

    std::vector<JobId> succeeded(std::size_t n, const std::string& type, const std::string& queue = "default") {
        auto ids = enqueue(n, type, {.queue = queue});
        std::vector<JobLease> leases;
        for (const auto& job : claim(n, queue)) leases.push_back(job.lease());
        EXPECT_TRUE(store_->mark_succeeded_batch(leases).empty());
        return ids;
    }

    // n jobs waiting for their retry (status failed, due in an hour).
    std::vector<JobId> failed(std::size_t n, const std::string& type, const std::string& queue = "default") {
        auto ids = enqueue(n, type, {.max_retries = 3, .queue = queue});
        std::vector<FailureReport> failures;
        for (const auto& job : claim(n, queue))
            failures.push_back(FailureReport{job.lease(), "try later", ErrorKind::retryable, std::chrono::hours(1)});
        store_->mark_failed_batch(failures);
        return ids;
    }

    std::string status_of(const JobId& id) {
        auto r = sql("SELECT status::text FROM jobs WHERE id = $1::uuid", {id.to_string()});
        return r.rows() == 0 ? "gone" : std::string(r.get(0, 0));
    }
};

}  // namespace seesaw::test

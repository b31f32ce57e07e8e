// Job control through the store and plain SQL: cancelling jobs in every
// state (and the notice a running job's dispatcher gets), a cancel racing a
// completion, pausing and resuming queues, and the counts that include both.
#include <atomic>
#include <thread>

#include "store_test_support.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

EnqueueOptions in_queue(std::string queue) {
    EnqueueOptions options;
    options.queue = std::move(queue);
    return options;
}

class JobControl : public StoreTest {
protected:
    // The one job claimable now in `queue`, claimed (it runs).
    ClaimedJob claim_one(const std::string& queue = "default") {
        auto claimed = store_->claim_ready("w", 1, ClaimFilter{queue});
        if (claimed.size() != 1) throw std::runtime_error("expected one job to claim in " + queue);
        return claimed[0];
    }
    std::string control_channel() { return std::string(sql("SELECT notify_channel($1, 'control')", {schema_}).get(0, 0)); }
};

TEST_F(JobControl, CancellingAJobThatHasNotFinishedEndsItAndItNeverRuns) {
    EnqueueOptions later;
    later.run_at = client_now() + 1h;
    EnqueueOptions retrying;
    retrying.max_retries = 3;
    const auto failed = store_->enqueue(job_of("t", retrying));
    store_->mark_failed(claim_one().lease(), "try again", ErrorKind::retryable);
    ASSERT_EQ(job(failed).status, JobStatus::failed);
    const auto pending = store_->enqueue(job_of("t"));
    const auto scheduled = store_->enqueue(job_of("t", later));
    // The failure's retry is now due, like the pending job: both would run.
    sql("UPDATE jobs SET run_at = now() WHERE id = $1::uuid", {failed.to_string()});

    for (const auto& [id, was] : {std::pair{pending, JobStatus::pending}, std::pair{scheduled, JobStatus::pending},
                                  std::pair{failed, JobStatus::failed}}) {
        const auto result = store_->cancel(id);
        EXPECT_EQ(result, (CancelResult{id, true, was}));
        const auto cancelled = job(id);
        EXPECT_EQ(cancelled.status, JobStatus::cancelled);
        EXPECT_EQ(cancelled.lease_expires_at, std::nullopt);
    }
    // Its time comes: it still does not run.
    sql("UPDATE jobs SET run_at = now() WHERE id = $1::uuid", {scheduled.to_string()});
    EXPECT_TRUE(store_->claim_ready("w", 10).empty()) << "a cancelled job is never claimed";
    // A failed job keeps its error history.
    EXPECT_EQ(job(failed).errors.size(), 1u);
}

TEST_F(JobControl, CancellingARunningJobFencesItsResultAndTellsItsDispatcher) {
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(control_channel());
    const auto id = store_->enqueue(job_of("t"));
    const auto claimed = claim_one();
    EXPECT_EQ(store_->cancel(id), (CancelResult{id, true, JobStatus::running}));
    sql("SELECT pg_notify(notify_channel($1, 'control'), 'marker')", {schema_});
    const auto seen = listener.until(control_channel(), "marker");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].payload, "cancel " + id.to_string());

    // Whatever its worker reports next is refused: the job stays cancelled.
    EXPECT_THROW(store_->heartbeat(claimed.lease()), LeaseLostError);
    EXPECT_THROW(store_->mark_succeeded(claimed.lease()), LeaseLostError);
    EXPECT_THROW(store_->mark_failed(claimed.lease(), "boom", ErrorKind::retryable), LeaseLostError);
    const auto row = job(id);
    EXPECT_EQ(row.status, JobStatus::cancelled);
    EXPECT_EQ(row.lease_expires_at, std::nullopt);
    // And lease expiry has nothing to reclaim.
    EXPECT_EQ(store_->reclaim_expired(), 0u);
    EXPECT_EQ(job(id).status, JobStatus::cancelled);
}

TEST_F(JobControl, CancellingAFinishedJobChangesNothingAndSaysSo) {
    const auto done = store_->enqueue(job_of("t"));
    store_->mark_succeeded(claim_one().lease());
    EnqueueOptions once;
    once.max_retries = 0;
    const auto dead = store_->enqueue(job_of("t", once));
    store_->mark_failed(claim_one().lease(), "broken", ErrorKind::non_retryable);
    const auto cancelled = store_->enqueue(job_of("t"));
    ASSERT_TRUE(store_->cancel(cancelled).cancelled);
    const auto before = sql("SELECT id, status, updated_at FROM jobs ORDER BY id");

    EXPECT_EQ(store_->cancel(done), (CancelResult{done, false, JobStatus::succeeded}));
    EXPECT_EQ(store_->cancel(dead), (CancelResult{dead, false, JobStatus::dead_letter}));
    EXPECT_EQ(store_->cancel(cancelled), (CancelResult{cancelled, false, JobStatus::cancelled}));
    const auto after = sql("SELECT id, status, updated_at FROM jobs ORDER BY id");
    ASSERT_EQ(after.rows(), before.rows());
    for (std::size_t r = 0; r < after.rows(); ++r)
        for (int c = 0; c < 3; ++c) EXPECT_EQ(after.get(r, c), before.get(r, c));
}

TEST_F(JobControl, CancellingSeveralIsAllOrNothingAndAnUnknownIdIsNamed) {
    const auto a = store_->enqueue(job_of("t"));
    const auto b = store_->enqueue(job_of("t"));
    const auto unknown = JobId::generate();
    const std::vector<JobId> with_unknown = {a, unknown, b};
    const auto message = error_of<UsageError>([&] { store_->cancel(with_unknown); });
    EXPECT_NE(message.find("no job with id " + unknown.to_string()), std::string::npos) << message;
    EXPECT_EQ(job(a).status, JobStatus::pending) << "none was cancelled";
    EXPECT_EQ(job(b).status, JobStatus::pending);
    EXPECT_THROW(store_->cancel(unknown), UsageError);

    const std::vector<JobId> both = {b, a};
    const auto results = store_->cancel(both);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0], (CancelResult{b, true, JobStatus::pending})) << "in the order asked";
    EXPECT_EQ(results[1], (CancelResult{a, true, JobStatus::pending}));

    // Given twice: cancelled once, and the second answer says so.
    const auto c = store_->enqueue(job_of("t"));
    const std::vector<JobId> twice = {c, c};
    EXPECT_EQ(store_->cancel(twice),
              (std::vector<CancelResult>{{c, true, JobStatus::pending}, {c, false, JobStatus::cancelled}}));
}

TEST_F(JobControl, CancelAllTakesTheUnfinishedJobsOfATypeAQueueOrBoth) {
    const auto mail = store_->enqueue(job_of("mail"));
    const auto mail_bulk = store_->enqueue(job_of("mail", in_queue("bulk")));
    const auto report_bulk = store_->enqueue(job_of("report", in_queue("bulk")));
    const auto report = store_->enqueue(job_of("report"));
    const auto done_mail = store_->enqueue(job_of("mail", in_queue("done")));
    store_->mark_succeeded(claim_one("done").lease());

    EXPECT_EQ(store_->cancel_all({.job_type = "mail", .queue = "bulk"}), 1u);
    EXPECT_EQ(job(mail_bulk).status, JobStatus::cancelled);
    EXPECT_EQ(job(mail).status, JobStatus::pending);
    EXPECT_EQ(job(report_bulk).status, JobStatus::pending);

    EXPECT_EQ(store_->cancel_all({.job_type = "mail"}), 1u) << "the succeeded one stays";
    EXPECT_EQ(job(mail).status, JobStatus::cancelled);
    EXPECT_EQ(job(done_mail).status, JobStatus::succeeded);

    EXPECT_EQ(store_->cancel_all({.queue = "bulk"}), 1u);
    EXPECT_EQ(job(report_bulk).status, JobStatus::cancelled);
    EXPECT_EQ(job(report).status, JobStatus::pending);

    const auto message = error_of<UsageError>([&] { store_->cancel_all({}); });
    EXPECT_NE(message.find("type"), std::string::npos) << message;
    EXPECT_EQ(job(report).status, JobStatus::pending) << "an empty filter cancels nothing";
}

// Many cancels racing the worker's success write: each job ends in exactly
// one of the two states, and the cancel's answer agrees with it.
TEST_F(JobControl, ACancelRacingACompletionEndsInOneTerminalStateThatTheCancelReports) {
    constexpr int jobs = 200;
    std::vector<JobId> ids;
    for (int i = 0; i < jobs; ++i) ids.push_back(store_->enqueue(job_of("t")));
    auto claimed = store_->claim_ready("w", jobs);
    ASSERT_EQ(claimed.size(), std::size_t(jobs));
    std::vector<std::optional<CancelResult>> results(jobs);
    std::vector<int> succeeded(jobs, 0);
    std::atomic<bool> go{false};
    auto other = make_store();
    std::thread canceller([&] {
        while (!go) std::this_thread::yield();
        for (int i = 0; i < jobs; ++i) results[i] = other.cancel(claimed[i].id);
    });
    go = true;
    for (int i = jobs; i-- > 0;) {
        try {
            store_->mark_succeeded(claimed[i].lease());
            succeeded[i] = 1;
        } catch (const LeaseLostError&) {
        }
    }
    canceller.join();
    int both_won = 0;
    for (int i = 0; i < jobs; ++i) {
        const auto status = job(claimed[i].id).status;
        ASSERT_TRUE(results[i]);
        if (results[i]->cancelled) {
            EXPECT_EQ(status, JobStatus::cancelled);
            EXPECT_EQ(succeeded[i], 0) << "a cancelled job's success was written";
        } else {
            EXPECT_EQ(status, JobStatus::succeeded);
            EXPECT_EQ(results[i]->previous, JobStatus::succeeded);
            EXPECT_EQ(succeeded[i], 1);
        }
        both_won += (results[i]->cancelled && succeeded[i]) ? 1 : 0;
    }
    EXPECT_EQ(both_won, 0);
    EXPECT_EQ(count("status IN ('succeeded', 'cancelled')"), jobs);
}

TEST_F(JobControl, PlainSqlCancelsAndPausesLikeTheLibrary) {
    const auto a = store_->enqueue(job_of("t"));
    const auto b = store_->enqueue(job_of("t", in_queue("other")));
    auto rows = sql("SELECT job_id, previous_status, cancelled FROM cancel_jobs(ARRAY[$1::uuid], NULL, NULL)",
                    {a.to_string()});
    ASSERT_EQ(rows.rows(), 1u);
    EXPECT_EQ(rows.get(0, 0), a.to_string());
    EXPECT_EQ(rows.get(0, 1), "pending");
    EXPECT_EQ(rows.get(0, 2), "t");
    EXPECT_EQ(job(a).status, JobStatus::cancelled);
    rows = sql("SELECT count(*) FROM cancel_jobs(NULL, NULL, 'other')");
    EXPECT_EQ(rows.get(0, 0), "1");
    EXPECT_EQ(job(b).status, JobStatus::cancelled);

    store_->enqueue(job_of("t", in_queue("sql paused")));
    EXPECT_EQ(sql("SELECT pause_queue('sql paused')").get(0, 0), "t");
    EXPECT_EQ(sql("SELECT pause_queue('sql paused')").get(0, 0), "f") << "already paused";
    EXPECT_TRUE(store_->claim_ready("w", 1, ClaimFilter{"sql paused"}).empty());
    EXPECT_EQ(sql("SELECT resume_queue('sql paused')").get(0, 0), "t");
    EXPECT_EQ(sql("SELECT resume_queue('sql paused')").get(0, 0), "f") << "not paused";
    EXPECT_EQ(store_->claim_ready("w", 1, ClaimFilter{"sql paused"}).size(), 1u);
}

TEST_F(JobControl, APausedQueueIsNotClaimedOtherQueuesAreAndResumingReleasesIt) {
    Listener listener(direct_url_);  // LISTEN needs a session of its own
    listener.listen(control_channel());
    const auto paused_job = store_->enqueue(job_of("t", in_queue("mail")));
    store_->enqueue(job_of("t", in_queue("other")));
    EXPECT_TRUE(store_->pause_queue("mail"));
    EXPECT_FALSE(store_->pause_queue("mail")) << "already paused";
    EXPECT_TRUE(store_->claim_ready("w", 10, ClaimFilter{"mail"}).empty());
    EXPECT_EQ(store_->claim_ready("w", 10, ClaimFilter{"other"}).size(), 1u);
    // Enqueueing into a paused queue goes on.
    const auto later = store_->enqueue(job_of("t", in_queue("mail")));
    EXPECT_EQ(job(later).status, JobStatus::pending);

    EXPECT_TRUE(store_->resume_queue("mail"));
    EXPECT_FALSE(store_->resume_queue("mail")) << "not paused any more";
    auto claimed = store_->claim_ready("w", 10, ClaimFilter{"mail"});
    ASSERT_EQ(claimed.size(), 2u);
    EXPECT_EQ(claimed[0].id, paused_job);

    sql("SELECT pg_notify(notify_channel($1, 'control'), 'marker')", {schema_});
    const auto seen = listener.until(control_channel(), "marker");
    ASSERT_EQ(seen.size(), 2u) << "one notice per change, none for a no-op";
    EXPECT_EQ(seen[0].payload, "pause mail");
    EXPECT_EQ(seen[1].payload, "resume mail");
}

TEST_F(JobControl, QueuesListsEveryQueueWithJobsOrPausedWithItsCounts) {
    store_->enqueue(job_of("t", in_queue("mail")));
    const auto c = store_->enqueue(job_of("t", in_queue("mail")));
    store_->cancel(c);
    ASSERT_TRUE(store_->pause_queue("empty but paused"));
    const auto queues = store_->queues();
    ASSERT_EQ(queues.size(), 2u);
    EXPECT_EQ(queues[0].name, "empty but paused");
    EXPECT_TRUE(queues[0].paused);
    ASSERT_TRUE(queues[0].paused_at);
    EXPECT_LT(*queues[0].paused_at - client_now(), 1min) << "the database's clock, about now";
    EXPECT_EQ(queues[0].counts.total(), 0);
    EXPECT_EQ(queues[1].name, "mail");
    EXPECT_FALSE(queues[1].paused);
    EXPECT_EQ(queues[1].paused_at, std::nullopt);
    EXPECT_EQ(queues[1].counts.pending, 1);
    EXPECT_EQ(queues[1].counts.cancelled, 1);
}

TEST_F(JobControl, ABadQueueNameIsRefusedAndNothingIsWritten) {
    for (const std::string& bad : {std::string(), std::string(129, 'q'), std::string("nul\0inside", 10),
                                   std::string("\xff\xfe")}) {
        EXPECT_THROW(store_->pause_queue(bad), UsageError) << bad.size();
        EXPECT_THROW(store_->resume_queue(bad), UsageError) << bad.size();
    }
    const auto message = error_of<UsageError>([&] { store_->pause_queue(""); });
    EXPECT_NE(message.find("queue"), std::string::npos) << message;
    EXPECT_EQ(sql("SELECT count(*) FROM queue_pauses").get(0, 0), "0");
    // Any other name works, quotes and all.
    const std::string odd = "we're \"paused\"; DROP TABLE jobs; --";
    EXPECT_TRUE(store_->pause_queue(odd));
    EXPECT_EQ(sql("SELECT queue FROM queue_pauses").get(0, 0), odd);
}

TEST_F(JobControl, StatsAndCleanupCountCancelledJobs) {
    for (int i = 0; i < 3; ++i) store_->cancel(store_->enqueue(job_of("t")));
    store_->enqueue(job_of("t"));
    auto stats = store_->stats();
    EXPECT_EQ(stats.cancelled, 3);
    EXPECT_EQ(stats.pending, 1);
    EXPECT_EQ(stats.total(), 4);
    EXPECT_EQ(stats.cancelled, counted().cancelled);
    EXPECT_EQ(store_->cleanup(JobStatus::cancelled, 0ms), 3u);
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(store_->stats().cancelled, 0);
}

}  // namespace
}  // namespace seesaw::test

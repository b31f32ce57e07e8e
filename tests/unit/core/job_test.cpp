#include <gtest/gtest.h>

#include <chrono>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw {
namespace {

using namespace std::chrono_literals;

TEST(JobStatus, NamesRoundTrip) {
    const std::pair<JobStatus, std::string_view> all[] = {{JobStatus::pending, "pending"},
                                                          {JobStatus::running, "running"},
                                                          {JobStatus::succeeded, "succeeded"},
                                                          {JobStatus::failed, "failed"},
                                                          {JobStatus::dead_letter, "dead_letter"}};
    for (auto [status, name] : all) {
        EXPECT_EQ(to_string(status), name);
        EXPECT_EQ(parse_job_status(name), status);
    }
    EXPECT_EQ(parse_job_status(""), std::nullopt);
    EXPECT_EQ(parse_job_status("Pending"), std::nullopt);
    EXPECT_EQ(parse_job_status("dead"), std::nullopt);
    EXPECT_EQ(parse_job_status("pending "), std::nullopt);
}

TEST(ErrorKind, NamesRoundTrip) {
    EXPECT_EQ(to_string(ErrorKind::retryable), "retryable");
    EXPECT_EQ(to_string(ErrorKind::non_retryable), "non_retryable");
    EXPECT_EQ(parse_error_kind("retryable"), ErrorKind::retryable);
    EXPECT_EQ(parse_error_kind("non_retryable"), ErrorKind::non_retryable);
    EXPECT_EQ(parse_error_kind("permanent"), std::nullopt);
    EXPECT_EQ(parse_error_kind(""), std::nullopt);
}

TEST(FormatTimestamp, IsoUtcWithMicroseconds) {
    EXPECT_EQ(format_timestamp(Timestamp{}), "1970-01-01T00:00:00.000000Z");
    // 2026-11-29T03:04:05.123456Z
    Timestamp t{std::chrono::seconds(1795921445) + 123456us};
    EXPECT_EQ(format_timestamp(t), "2026-11-29T03:04:05.123456Z");
    EXPECT_EQ(format_timestamp(Timestamp{std::chrono::seconds(951782400)}), "2000-02-29T00:00:00.000000Z");
}

TEST(FormatTimestamp, BeforeTheEpochRoundsDownToTheSecond) {
    EXPECT_EQ(format_timestamp(Timestamp{-1us}), "1969-12-31T23:59:59.999999Z");
    EXPECT_EQ(format_timestamp(Timestamp{-1000000us}), "1969-12-31T23:59:59.000000Z");
    EXPECT_EQ(format_timestamp(Timestamp{-1500000us}), "1969-12-31T23:59:58.500000Z");
}

TEST(EnqueueOptions, DefaultsMatchTheSeed) {
    EnqueueOptions options;
    // Unset (the job type's defaults may fill them), they read as the seed's.
    EXPECT_EQ(options.priority, std::nullopt);
    EXPECT_EQ(options.max_retries, std::nullopt);
    EXPECT_EQ(options.queue, std::nullopt);
    EXPECT_EQ(priority_of(options), 0);
    EXPECT_EQ(max_retries_of(options), 3);
    EXPECT_EQ(queue_of(options), "default");
    EXPECT_EQ(options.run_at, std::nullopt);
    EXPECT_EQ(options.delay, 0ms);
    EXPECT_EQ(options.version, 1);
    NewJob a{"t", "{}"};
    NewJob b{"t", "{}"};
    EXPECT_FALSE(a.id.is_nil());
    EXPECT_NE(a.id, b.id);  // each new job gets its own id
}

TEST(QueueStats, IndexesByStatusAndTotals) {
    QueueStats stats;
    stats[JobStatus::pending] = 1;
    stats[JobStatus::running] = 2;
    stats[JobStatus::succeeded] = 3;
    stats[JobStatus::failed] = 4;
    stats[JobStatus::dead_letter] = 5;
    EXPECT_EQ(stats, (QueueStats{1, 2, 3, 4, 5}));
    EXPECT_EQ(stats.total(), 15);
}

TEST(ClaimedJob, LeaseCarriesIdWorkerAndAttempt) {
    ClaimedJob job;
    job.id = JobId::generate();
    job.worker_id = "w1";
    job.attempt = 3;
    auto lease = job.lease();
    EXPECT_EQ(lease.id, job.id);
    EXPECT_EQ(lease.worker_id, "w1");
    EXPECT_EQ(lease.attempt, 3);
}

TEST(Errors, FormOneHierarchyRootedInError) {
    SqlError sql("bad", "42P01", "SELECT 1");
    EXPECT_EQ(sql.sqlstate(), "42P01");
    EXPECT_EQ(sql.query(), "SELECT 1");
    EXPECT_THROW(throw ConstraintError("c", "23514", "q"), SqlError);
    EXPECT_THROW(throw ConnectionError("c"), Error);
    EXPECT_THROW(throw PayloadError("p"), Error);
    EXPECT_THROW(throw UsageError("u"), Error);
    EXPECT_THROW(throw LeaseLostError("l"), Error);
    EXPECT_THROW(throw RetryableError("r"), Error);
    EXPECT_THROW(throw PermanentError("p"), Error);
}

TEST(Log, SinkReceivesMessagesAtOrAboveTheLevel) {
    std::vector<std::string> lines;
    set_logger([&](LogLevel level, std::string_view message) {
        lines.push_back(std::string(to_string(level)) + " " + std::string(message));
    });
    auto previous = log_level();
    set_log_level(LogLevel::warn);
    log(LogLevel::info, "quiet");
    log(LogLevel::warn, "loud");
    log(LogLevel::error, "louder");
    log(LogLevel::off, "never");
    set_log_level(previous);
    set_logger(nullptr);
    EXPECT_EQ(lines, (std::vector<std::string>{"WARN loud", "ERROR louder"}));
}

}  // namespace
}  // namespace seesaw

#include "seesaw/core/job.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace seesaw {
namespace {
constexpr std::array<std::string_view, 6> status_names = {"pending", "running",     "succeeded",
                                                          "failed",  "dead_letter", "cancelled"};
constexpr std::array<std::string_view, 2> kind_names = {"retryable", "non_retryable"};
}  // namespace

std::string_view to_string(JobStatus status) noexcept { return status_names[static_cast<std::size_t>(status)]; }
std::string_view to_string(ErrorKind kind) noexcept { return kind_names[static_cast<std::size_t>(kind)]; }

std::optional<JobStatus> parse_job_status(std::string_view text) noexcept {
    for (std::size_t i = 0; i < status_names.size(); ++i)
        if (status_names[i] == text) return static_cast<JobStatus>(i);
    return std::nullopt;
}

std::optional<ErrorKind> parse_error_kind(std::string_view text) noexcept {
    for (std::size_t i = 0; i < kind_names.size(); ++i)
        if (kind_names[i] == text) return static_cast<ErrorKind>(i);
    return std::nullopt;
}

std::int64_t& QueueStats::operator[](JobStatus status) noexcept {
    switch (status) {
        case JobStatus::pending: return pending;
        case JobStatus::running: return running;
        case JobStatus::succeeded: return succeeded;
        case JobStatus::failed: return failed;
        case JobStatus::dead_letter: return dead_letter;
        case JobStatus::cancelled: break;
    }
    return cancelled;
}

std::string format_timestamp(Timestamp t) {
    auto us = t.time_since_epoch().count();
    auto secs = static_cast<std::time_t>(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    auto frac = static_cast<long>(us - static_cast<std::int64_t>(secs) * 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

}  // namespace seesaw

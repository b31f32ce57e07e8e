#pragma once
// Parsers for the values the CLI takes: durations, --run-at, statuses, job
// ids. Each throws cli::UserError naming the option and what it expects.

#include <chrono>
#include <optional>
#include <string_view>

#include "seesaw/core/job.hpp"

namespace seesaw::cli {

// "30s", "5m", "2h", "7d": a whole number and one unit.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view option);

// ISO 8601 in UTC unless an offset is given: "2026-12-01", "2026-12-01T09:30",
// "2026-12-01T09:30:00.250Z", "2026-12-01 09:30:00+02:00". A space may stand
// for the T.
Timestamp parse_timestamp(std::string_view text, std::string_view option);

// What --run-at means: an absolute time, or "+<duration>" from the database's now().
struct RunAt {
    std::optional<Timestamp> at;
    std::chrono::milliseconds delay{0};
};
RunAt parse_run_at(std::string_view text);

JobStatus parse_status(std::string_view text, std::string_view option);
JobId parse_job_id(std::string_view text);

}  // namespace seesaw::cli

#pragma once
// When a periodic job runs: a cron expression ("*/15 9-17 * * mon-fri"), a
// shorthand ("@daily") or an interval ("@every 30s", "@every 1h30m").
// Calendar arithmetic only: no clock is read and no database is involved.
//
//   minute hour day-of-month month day-of-week     0-59 0-23 1-31 1-12 0-7
//   TZ=+02:00 0 3 * * *     the cron fields read at a fixed offset from UTC
//   @yearly @annually @monthly @weekly @daily @midnight @hourly
//   @every 30s | 5m | 1h30m | 2d   slots at whole multiples since 1970-01-01Z
//
// Cron fields are read in UTC unless a fixed offset comes first (no zone
// names, no daylight saving time). Months and days of week take names
// (jan-dec, sun-sat, any case); Sunday is 0 or 7. As in Vixie cron, when both
// day of month and day of week are restricted (neither starts with '*'), a day
// matches when either does; otherwise it must match both. An interval's slots
// are anchored at the Unix epoch, so every process computes the same ones.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "seesaw/core/job.hpp"

namespace seesaw {

// The instants a schedule computes slots from: [0001-01-01, 10000-01-01) UTC.
inline constexpr Timestamp earliest_schedule_instant{std::chrono::microseconds(-62'135'596'800'000'000)};
inline constexpr Timestamp latest_schedule_instant{std::chrono::microseconds(253'402'300'800'000'000)};

namespace detail {

// A parsed cron expression: bit v of a set is on when the value v is allowed.
struct CronFields {
    std::uint64_t minutes = 0;        // 0-59
    std::uint64_t hours = 0;          // 0-23
    std::uint64_t days_of_month = 0;  // 1-31
    std::uint64_t months = 0;         // 1-12
    std::uint64_t days_of_week = 0;   // 0-6, Sunday 0 (a 7 is folded into 0)
    // Both day fields restricted: a day matches when either one does.
    bool either_day_matches = false;
    // The fields are wall-clock time at this fixed offset east of UTC.
    std::chrono::minutes utc_offset{0};
};

}  // namespace detail

class Schedule {
public:
    // Throws UsageError naming the problem, the expression quoted first:
    // "schedule '0 0 32 * *': field 3 (day of month): 32 is out of range 1–31".
    // An expression that can never fire ("0 0 30 2 *") is refused too.
    static Schedule parse(std::string_view expression);

    // The first slot strictly after `after`. Every schedule has one. Throws
    // UsageError when `after` is outside [earliest_schedule_instant,
    // latest_schedule_instant).
    Timestamp next_after(Timestamp after) const;
    // The latest slot at or before `at`; nullopt when there is none from
    // 1970-01-01 UTC on. Throws UsageError when `at` is at or after
    // latest_schedule_instant.
    std::optional<Timestamp> latest_at_or_before(Timestamp at) const;

    // The expression as given to parse().
    const std::string& expression() const noexcept { return expression_; }
    // The interval of an @every schedule; nullopt for a cron one.
    std::optional<std::chrono::seconds> interval() const noexcept;

private:
    Schedule() = default;

    std::string expression_;
    // Positive for @every (then cron_ is unused), zero for cron.
    std::chrono::seconds interval_{0};
    detail::CronFields cron_;
};

}  // namespace seesaw

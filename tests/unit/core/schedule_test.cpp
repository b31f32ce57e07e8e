#include "seesaw/core/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

using std::chrono::microseconds;

Timestamp utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int us = 0) {
    const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d}};
    return Timestamp{day} + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s) +
           microseconds(us);
}

// "2024-02-29T00:00:00.000000Z", so that a failure reads as a date.
std::string iso(Timestamp t) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss<microseconds> time{t - day};
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", int(date.year()), unsigned(date.month()),
                  unsigned(date.day()), int(time.hours().count()), int(time.minutes().count()),
                  int(time.seconds().count()), int(time.subseconds().count()));
    return text;
}

std::string iso(std::optional<Timestamp> t) { return t ? iso(*t) : "none"; }

struct NextCase {
    std::string expression;
    Timestamp after;
    Timestamp expected;
};

TEST(Schedule, NextAfterGivesTheFirstSlotStrictlyAfter) {
    const std::vector<NextCase> cases = {
        // Every minute; a slot is a whole minute, so seconds and microseconds round up.
        {"* * * * *", utc(2024, 1, 1, 0, 0), utc(2024, 1, 1, 0, 1)},
        {"* * * * *", utc(2024, 1, 1, 0, 0, 30, 500'000), utc(2024, 1, 1, 0, 1)},
        {"* * * * *", utc(2024, 1, 1, 0, 0, 59, 999'999), utc(2024, 1, 1, 0, 1)},
        {"* * * * *", utc(2024, 12, 31, 23, 59), utc(2025, 1, 1, 0, 0)},
        // At a slot: the following one.
        {"0 12 * * *", utc(2024, 5, 1, 12, 0), utc(2024, 5, 2, 12, 0)},
        {"0 12 * * *", utc(2024, 5, 1, 11, 59, 59, 999'999), utc(2024, 5, 1, 12, 0)},
        {"0 12 * * *", utc(2024, 5, 1, 12, 0, 0, 1), utc(2024, 5, 2, 12, 0)},
        // Month ends: the 31st skips the months without one.
        {"0 0 31 * *", utc(2024, 1, 31, 0, 0), utc(2024, 3, 31)},
        {"0 0 31 * *", utc(2024, 3, 31, 0, 0), utc(2024, 5, 31)},
        {"0 0 31 * *", utc(2024, 8, 31, 0, 0), utc(2024, 10, 31)},
        {"0 0 30 * *", utc(2024, 1, 30, 0, 0), utc(2024, 3, 30)},
        {"59 23 31 12 *", utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59)},
        // Leap days: 2100 is not a leap year, 2000 is.
        {"0 0 29 2 *", utc(2023, 3, 1), utc(2024, 2, 29)},
        {"0 0 29 2 *", utc(2024, 2, 29), utc(2028, 2, 29)},
        {"0 0 29 2 *", utc(2097, 3, 1), utc(2104, 2, 29)},
        {"0 0 29 2 *", utc(1997, 3, 1), utc(2000, 2, 29)},
        {"0 0 28-31 2 *", utc(2100, 2, 28), utc(2101, 2, 28)},
        // February 29 on a Sunday (AND: the day of week starts with '*'): 40 years apart across 2100.
        {"0 0 29 2 */7", utc(2088, 3, 1), utc(2128, 2, 29)},
        // Steps.
        {"*/15 * * * *", utc(2024, 6, 1, 10, 7), utc(2024, 6, 1, 10, 15)},
        {"*/15 * * * *", utc(2024, 6, 1, 10, 45), utc(2024, 6, 1, 11, 0)},
        {"5/20 * * * *", utc(2024, 6, 1, 10, 46), utc(2024, 6, 1, 11, 5)},
        {"10-30/10 8 * * *", utc(2024, 6, 1, 8, 30), utc(2024, 6, 2, 8, 10)},
        {"0 */6 * * *", utc(2024, 6, 1, 18, 0), utc(2024, 6, 2, 0, 0)},
        {"0 0 */10 * *", utc(2024, 6, 21), utc(2024, 7, 1)},
        {"0 0 1 */3 *", utc(2024, 4, 1), utc(2024, 7, 1)},
        // Ranges and lists.
        {"0 9-17 * * *", utc(2024, 6, 1, 12, 30), utc(2024, 6, 1, 13, 0)},
        {"0 9-17 * * *", utc(2024, 6, 1, 17, 0), utc(2024, 6, 2, 9, 0)},
        {"0,30 6,18 * * *", utc(2024, 6, 1, 6, 30), utc(2024, 6, 1, 18, 0)},
        {"0 0 1,15 * *", utc(2024, 6, 15), utc(2024, 7, 1)},
        {"15 10 * 1-3,11-12 *", utc(2024, 3, 31, 10, 15), utc(2024, 11, 1, 10, 15)},
        // Names, in any case; a Sunday closes a range as 7.
        {"0 9 * * mon-fri", utc(2024, 3, 8, 9, 0), utc(2024, 3, 11, 9, 0)},  // Friday → Monday
        {"0 9 * * MON-Fri", utc(2024, 3, 9, 9, 0), utc(2024, 3, 11, 9, 0)},
        {"0 0 1 jan,JUL *", utc(2024, 1, 1), utc(2024, 7, 1)},
        {"0 0 1 mar-may *", utc(2024, 5, 1), utc(2025, 3, 1)},
        {"0 0 * * fri-sun", utc(2024, 3, 10), utc(2024, 3, 15)},  // Sunday → Friday
        // Sunday as 0 and 7.
        {"0 0 * * 0", utc(2024, 3, 5), utc(2024, 3, 10)},
        {"0 0 * * 7", utc(2024, 3, 5), utc(2024, 3, 10)},
        {"0 0 * * sun", utc(2024, 3, 5), utc(2024, 3, 10)},
        {"0 0 * * 5-7", utc(2024, 3, 10), utc(2024, 3, 15)},
        {"0 0 * * 6,7", utc(2024, 3, 9), utc(2024, 3, 10)},
        // Both day fields restricted: either matches (the 13th, or a Monday).
        {"0 0 13 * mon", utc(2024, 9, 10), utc(2024, 9, 13)},
        {"0 0 13 * mon", utc(2024, 9, 13), utc(2024, 9, 16)},
        {"0 0 31 2 mon", utc(2024, 2, 1), utc(2024, 2, 5)},
        // One starts with '*': both must match (the 1st, 11th, 21st or 31st, and a Monday).
        {"0 0 */10 * mon", utc(2024, 1, 1), utc(2024, 3, 11)},
        {"0 0 13 * *", utc(2024, 9, 10), utc(2024, 9, 13)},
        {"0 0 * * mon", utc(2024, 9, 10), utc(2024, 9, 16)},
        // Shorthands.
        {"@hourly", utc(2024, 6, 1, 10, 0), utc(2024, 6, 1, 11, 0)},
        {"@hourly", utc(2024, 6, 1, 10, 59, 59), utc(2024, 6, 1, 11, 0)},
        {"@daily", utc(2024, 6, 1, 10, 0), utc(2024, 6, 2)},
        {"@midnight", utc(2024, 6, 1), utc(2024, 6, 2)},
        {"@weekly", utc(2024, 3, 10), utc(2024, 3, 17)},
        {"@weekly", utc(2024, 3, 13, 12, 0), utc(2024, 3, 17)},
        {"@monthly", utc(2024, 1, 31, 12, 0), utc(2024, 2, 1)},
        {"@yearly", utc(2024, 1, 1), utc(2025, 1, 1)},
        {"@annually", utc(2024, 7, 1), utc(2025, 1, 1)},
        {"@DAILY", utc(2024, 6, 1, 10, 0), utc(2024, 6, 2)},
        // Blanks: several, tabs, leading and trailing.
        {"  0\t12   *  * *\t", utc(2024, 5, 1, 12, 0), utc(2024, 5, 2, 12, 0)},
        // Intervals: whole multiples since 1970-01-01T00:00:00Z.
        {"@every 30s", utc(2024, 6, 1, 10, 0, 10), utc(2024, 6, 1, 10, 0, 30)},
        {"@every 30s", utc(2024, 6, 1, 10, 0, 30), utc(2024, 6, 1, 10, 1, 0)},
        {"@every 30s", utc(2024, 6, 1, 10, 0, 29, 999'999), utc(2024, 6, 1, 10, 0, 30)},
        {"@every 1s", utc(2024, 6, 1, 10, 0, 0, 1), utc(2024, 6, 1, 10, 0, 1)},
        {"@every 7m", utc(1970, 1, 1), utc(1970, 1, 1, 0, 7)},
        {"@every 5m", utc(2024, 6, 1, 10, 2), utc(2024, 6, 1, 10, 5)},
        {"@every 1h30m", utc(1970, 1, 1, 2, 0), utc(1970, 1, 1, 3, 0)},
        {"@every 1d", utc(2024, 6, 1, 10, 0), utc(2024, 6, 2)},
        {"@every 1h", utc(1969, 12, 31, 22, 30), utc(1969, 12, 31, 23, 0)},
        {"@every 1h", utc(1969, 12, 31, 23, 0), utc(1970, 1, 1)},
        // A fixed offset: 03:00 at +02:00 is 01:00 UTC.
        {"TZ=+02:00 0 3 * * *", utc(2024, 6, 1), utc(2024, 6, 1, 1, 0)},
        {"TZ=+02:00 0 3 * * *", utc(2024, 6, 1, 1, 0), utc(2024, 6, 2, 1, 0)},
        {"TZ=-05:30 0 0 * * *", utc(2024, 1, 1), utc(2024, 1, 1, 5, 30)},
        {"TZ=+02:00 0 1 1 1 *", utc(2024, 6, 1), utc(2024, 12, 31, 23, 0)},
        {"TZ=-05:00 0 22 * * fri", utc(2024, 3, 8, 12, 0), utc(2024, 3, 9, 3, 0)},  // Friday there, Saturday in UTC
        {"TZ=+14:00 @daily", utc(2024, 6, 1, 9, 0), utc(2024, 6, 1, 10, 0)},
        {"TZ=Z 0 3 * * *", utc(2024, 6, 1), utc(2024, 6, 1, 3, 0)},
        {"TZ=UTC 0 3 * * *", utc(2024, 6, 1), utc(2024, 6, 1, 3, 0)},
        {"TZ=-00:00 0 3 * * *", utc(2024, 6, 1), utc(2024, 6, 1, 3, 0)},
        // The calendar before 1970 and near the end of the years computed.
        {"0 0 1 1 *", utc(1, 1, 1), utc(2, 1, 1)},
        {"0 0 1 1 *", utc(9999, 12, 31, 23, 59, 59, 999'999), utc(10000, 1, 1)},
    };
    for (const auto& c : cases) {
        const auto schedule = Schedule::parse(c.expression);
        EXPECT_EQ(iso(schedule.next_after(c.after)), iso(c.expected))
            << "'" << c.expression << "' after " << iso(c.after);
    }
}

struct LatestCase {
    std::string expression;
    Timestamp at;
    std::optional<Timestamp> expected;
};

TEST(Schedule, LatestAtOrBeforeGivesTheLastSlotSince1970) {
    const std::vector<LatestCase> cases = {
        {"0 12 * * *", utc(2024, 5, 1, 12, 0), utc(2024, 5, 1, 12, 0)},
        {"0 12 * * *", utc(2024, 5, 1, 12, 0, 0, 1), utc(2024, 5, 1, 12, 0)},
        {"0 12 * * *", utc(2024, 5, 1, 11, 59, 59, 999'999), utc(2024, 4, 30, 12, 0)},
        {"*/15 * * * *", utc(2024, 5, 1, 0, 14), utc(2024, 5, 1, 0, 0)},
        {"*/15 * * * *", utc(2024, 5, 1, 0, 0), utc(2024, 5, 1, 0, 0)},
        {"10-30/10 8 * * *", utc(2024, 6, 2, 8, 5), utc(2024, 6, 1, 8, 30)},
        {"0 0 31 * *", utc(2024, 5, 30), utc(2024, 3, 31)},
        {"0 0 29 2 *", utc(2103, 12, 31), utc(2096, 2, 29)},
        {"0 0 29 2 */7", utc(2128, 2, 28), utc(2088, 2, 29)},
        {"0 9 * * mon-fri", utc(2024, 3, 10, 23, 0), utc(2024, 3, 8, 9, 0)},  // Sunday → Friday
        {"0 0 13 * mon", utc(2024, 9, 15), utc(2024, 9, 13)},
        {"0 0 */10 * mon", utc(2024, 3, 10), utc(2024, 1, 1)},
        {"0 0 1 jan,jul *", utc(2024, 6, 30), utc(2024, 1, 1)},
        {"0 0 1 jan,jul *", utc(2024, 1, 1), utc(2024, 1, 1)},
        {"@weekly", utc(2024, 3, 16, 23, 59), utc(2024, 3, 10)},
        {"@monthly", utc(2024, 3, 1), utc(2024, 3, 1)},
        {"@yearly", utc(2024, 12, 31, 23, 59), utc(2024, 1, 1)},
        // None on or after 1970-01-01 UTC.
        {"0 0 1 1 *", utc(1970, 1, 1), utc(1970, 1, 1)},
        {"0 0 1 1 *", utc(1969, 6, 1), std::nullopt},
        {"0 0 2 1 *", utc(1970, 1, 1, 12, 0), std::nullopt},
        {"* * * * *", Timestamp::min(), std::nullopt},
        {"0 0 29 2 *", utc(1971, 12, 31), std::nullopt},
        // Intervals.
        {"@every 30s", utc(2024, 6, 1, 10, 0, 45), utc(2024, 6, 1, 10, 0, 30)},
        {"@every 30s", utc(2024, 6, 1, 10, 0, 30), utc(2024, 6, 1, 10, 0, 30)},
        {"@every 1d", utc(1970, 1, 1), utc(1970, 1, 1)},
        {"@every 1d", utc(1969, 12, 31, 23, 59, 59, 999'999), std::nullopt},
        // Fixed offsets: 01:00 at +02:00 on 1970-01-01 was 1969-12-31T23:00Z.
        {"TZ=+02:00 0 3 * * *", utc(2024, 6, 1, 0, 59), utc(2024, 5, 31, 1, 0)},
        {"TZ=+02:00 0 1 * * *", utc(1970, 1, 1, 22, 59), std::nullopt},
        {"TZ=+02:00 0 1 * * *", utc(1970, 1, 1, 23, 0), utc(1970, 1, 1, 23, 0)},
        {"TZ=-05:30 0 0 * * *", utc(2024, 1, 1, 5, 29), utc(2023, 12, 31, 5, 30)},
        // At +05:45 1970 began at 05:45: 05:30 that day was still 1969 in UTC.
        {"TZ=+05:45 30 5 * * *", utc(1970, 1, 1, 0, 10), std::nullopt},
        {"TZ=+05:45 30 5 * * *", utc(1970, 1, 2), utc(1970, 1, 1, 23, 45)},
    };
    for (const auto& c : cases) {
        const auto schedule = Schedule::parse(c.expression);
        EXPECT_EQ(iso(schedule.latest_at_or_before(c.at)), iso(c.expected))
            << "'" << c.expression << "' at " << iso(c.at);
    }
}

// Slots in [from, to), walked with next_after; -1 when it fails to move on.
int count_slots(const Schedule& schedule, Timestamp from, Timestamp to) {
    int count = 0;
    for (auto slot = schedule.next_after(from - microseconds(1)); slot < to; ++count) {
        const auto next = schedule.next_after(slot);
        if (next <= slot) return -1;
        slot = next;
    }
    return count;
}

TEST(Schedule, WalkingFromSlotToSlotCountsTheCalendar) {
    const auto year_2024 = [](const char* expression) {
        return count_slots(Schedule::parse(expression), utc(2024, 1, 1), utc(2025, 1, 1));
    };
    EXPECT_EQ(year_2024("@daily"), 366);
    EXPECT_EQ(year_2024("0 9 * * mon-fri"), 262);
    EXPECT_EQ(year_2024("0 0 13 * fri"), 62);  // 12 thirteenths and 52 Fridays, two of them the 13th
    EXPECT_EQ(year_2024("0 0 31 * *"), 7);
    EXPECT_EQ(year_2024("@weekly"), 52);
    EXPECT_EQ(year_2024("@monthly"), 12);
    EXPECT_EQ(count_slots(Schedule::parse("*/15 * * * *"), utc(2024, 6, 1), utc(2024, 6, 2)), 96);
    EXPECT_EQ(count_slots(Schedule::parse("@every 30s"), utc(2024, 6, 1), utc(2024, 6, 2)), 2880);
    // 97 leap years in the 400-year Gregorian cycle.
    EXPECT_EQ(count_slots(Schedule::parse("0 0 29 2 *"), utc(2000, 1, 1), utc(2400, 1, 1)), 97);
}

TEST(Schedule, NextAfterAndLatestAtOrBeforeAgree) {
    const std::vector<std::string> expressions = {
        "* * * * *",
        "*/7 */5 * * *",
        "0 0 29 2 *",
        "0 0 29 2 */7",
        "0 9 * * mon-fri",
        "0 0 13 * fri",
        "0 0 */10 * mon",
        "30 4 1,15 * 5",
        "@weekly",
        "@every 45s",
        "@every 13h",
        "TZ=+05:45 0 0 1 * *",
        "TZ=-09:30 15 */2 * * sun",
        "59 23 31 12 *",
        "@every 1000d",
    };
    std::uint64_t state = 42;  // a fixed linear congruential sequence of instants in 1970..2300
    const auto span = (utc(2300, 1, 1) - utc(1970, 1, 1)).count();
    for (const auto& expression : expressions) {
        const auto schedule = Schedule::parse(expression);
        for (int i = 0; i < 200; ++i) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            const Timestamp t{
                microseconds(static_cast<std::int64_t>((state >> 11) % static_cast<std::uint64_t>(span)))};
            const auto next = schedule.next_after(t);
            ASSERT_GT(next, t) << expression << " after " << iso(t);
            // The slot is one, and none lies between t and it.
            EXPECT_EQ(iso(schedule.latest_at_or_before(next)), iso(next)) << expression << " after " << iso(t);
            EXPECT_EQ(iso(schedule.latest_at_or_before(next - microseconds(1))), iso(schedule.latest_at_or_before(t)))
                << expression << " after " << iso(t);
            if (!schedule.interval()) {
                EXPECT_EQ(next.time_since_epoch() % std::chrono::minutes(1), microseconds(0)) << expression;
            }
            const auto latest = schedule.latest_at_or_before(t);
            if (latest) {
                EXPECT_EQ(iso(schedule.next_after(*latest - microseconds(1))), iso(*latest)) << expression;
            }
        }
    }
}

struct InvalidCase {
    std::string expression;
    std::string message;
};

TEST(Schedule, InvalidExpressionsAreRefusedWithTheProblemNamed) {
    const std::vector<InvalidCase> cases = {
        {"0 0 32 * *", "schedule '0 0 32 * *': field 3 (day of month): 32 is out of range 1–31"},
        {"60 * * * *", "schedule '60 * * * *': field 1 (minute): 60 is out of range 0–59"},
        {"0 24 * * *", "schedule '0 24 * * *': field 2 (hour): 24 is out of range 0–23"},
        {"0 0 0 * *", "schedule '0 0 0 * *': field 3 (day of month): 0 is out of range 1–31"},
        {"0 0 * 13 *", "schedule '0 0 * 13 *': field 4 (month): 13 is out of range 1–12 or jan–dec"},
        {"0 0 * * 8", "schedule '0 0 * * 8': field 5 (day of week): 8 is out of range 0–7 or sun–sat"},
        {"0 0 1-40 * *", "schedule '0 0 1-40 * *': field 3 (day of month): 40 is out of range 1–31"},
        {"99999999999999999999 * * * *",
         "schedule '99999999999999999999 * * * *': field 1 (minute): 99999999999999999999 is out of range 0–59"},
        {"0 0 * * * *",
         "schedule '0 0 * * * *': expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
        {"0 0 * *", "schedule '0 0 * *': expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"TZ=+02:00", "schedule 'TZ=+02:00': expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"",
         "schedule '': the expression is empty; expected 5 cron fields, a shorthand like @daily, or @every and an "
         "interval"},
        {" \t ",
         "schedule ' \t ': the expression is empty; expected 5 cron fields, a shorthand like @daily, or @every "
         "and an interval"},
        {"*/0 * * * *", "schedule '*/0 * * * *': field 1 (minute): step 0 in '*/0' must be between 1 and 59"},
        {"*/60 * * * *", "schedule '*/60 * * * *': field 1 (minute): step 60 in '*/60' must be between 1 and 59"},
        {"0 0 1-10/0 * *",
         "schedule '0 0 1-10/0 * *': field 3 (day of month): step 0 in '1-10/0' must be between 1 "
         "and 30"},
        {"0 5-1 * * *",
         "schedule '0 5-1 * * *': field 2 (hour): range '5-1' ends before it starts; write it as two, '5-23,0-1'"},
        {"0 0 * * fri-mon",
         "schedule '0 0 * * fri-mon': field 5 (day of week): range 'fri-mon' ends before it "
         "starts; write it as two, 'fri-sat,sun-mon'"},
        {"0 0 * * 5-1/2",
         "schedule '0 0 * * 5-1/2': field 5 (day of week): range '5-1' ends before it starts; "
         "write it as two, '5-6,0-1'"},
        {"0 0 * nov-feb *",
         "schedule '0 0 * nov-feb *': field 4 (month): range 'nov-feb' ends before it starts; "
         "write it as two, 'nov-dec,jan-feb'"},
        {"0 0 * 11-Feb *",
         "schedule '0 0 * 11-Feb *': field 4 (month): range '11-Feb' ends before it starts; "
         "write it as two, '11-12,1-Feb'"},
        {"0 0 * foo *", "schedule '0 0 * foo *': field 4 (month): unknown name 'foo' (expected 1–12 or jan–dec)"},
        {"0 0 * * jan", "schedule '0 0 * * jan': field 5 (day of week): unknown name 'jan' (expected 0–7 or sun–sat)"},
        {"0 0 * * monday",
         "schedule '0 0 * * monday': field 5 (day of week): unknown name 'monday' (expected 0–7 or "
         "sun–sat)"},
        {"foo * * * *", "schedule 'foo * * * *': field 1 (minute): unknown name 'foo' (expected a number 0–59)"},
        {"1,,2 * * * *", "schedule '1,,2 * * * *': field 1 (minute): empty item in list '1,,2'"},
        {"1, * * * *", "schedule '1, * * * *': field 1 (minute): empty item in list '1,'"},
        {"0 , * * *", "schedule '0 , * * *': field 2 (hour): empty item in list ','"},
        {"5# * * * *", "schedule '5# * * * *': field 1 (minute): unexpected character '#' in '5#'"},
        {"0 0 ? * *", "schedule '0 0 ? * *': field 3 (day of month): unexpected character '?' in '?'"},
        {"0 0 L * *", "schedule '0 0 L * *': field 3 (day of month): unknown name 'L' (expected a number 1–31)"},
        {"0 0 1\xc2\xa0 * *",
         "schedule '0 0 1\xc2\xa0 * *': field 3 (day of month): unexpected character '\\xc2' in '1\xc2\xa0'"},
        {"5a * * * *",
         "schedule '5a * * * *': field 1 (minute): '5a' is not a value, a range or a step (like 5, 1-5, "
         "*/15 or 1-30/5)"},
        {"1-2-3 * * * *",
         "schedule '1-2-3 * * * *': field 1 (minute): '1-2-3' is not a value, a range or a step "
         "(like 5, 1-5, */15 or 1-30/5)"},
        {"*/ * * * *",
         "schedule '*/ * * * *': field 1 (minute): '*/' is not a value, a range or a step (like 5, "
         "1-5, */15 or 1-30/5)"},
        {"*5 * * * *",
         "schedule '*5 * * * *': field 1 (minute): '*5' is not a value, a range or a step (like 5, "
         "1-5, */15 or 1-30/5)"},
        {"-5 * * * *",
         "schedule '-5 * * * *': field 1 (minute): '-5' is not a value, a range or a step (like 5, "
         "1-5, */15 or 1-30/5)"},
        {"1/2/3 * * * *",
         "schedule '1/2/3 * * * *': field 1 (minute): '1/2/3' is not a value, a range or a step "
         "(like 5, 1-5, */15 or 1-30/5)"},
        {"@sometimes",
         "schedule '@sometimes': unknown shorthand '@sometimes' (expected @yearly, @annually, "
         "@monthly, @weekly, @daily, @midnight, @hourly or @every and an interval)"},
        {"@daily 5", "schedule '@daily 5': @daily takes no fields, got '5'"},
        {"@every 0s", "schedule '@every 0s': @every: the interval must be at least 1s, got '0s'"},
        {"@every 0h0m", "schedule '@every 0h0m': @every: the interval must be at least 1s, got '0h0m'"},
        {"@every 10x", "schedule '@every 10x': @every: unknown unit 'x' in '10x' (expected s, m, h or d)"},
        {"@every 5M", "schedule '@every 5M': @every: unknown unit 'M' in '5M' (expected s, m, h or d)"},
        {"@every 10", "schedule '@every 10': @every: '10' has no unit after 10 (expected s, m, h or d)"},
        {"@every 1h30", "schedule '@every 1h30': @every: '1h30' has no unit after 30 (expected s, m, h or d)"},
        {"@every h", "schedule '@every h': @every: 'h' is not an interval (like 30s, 5m, 1h30m or 2d)"},
        {"@every -5m", "schedule '@every -5m': @every: '-5m' is not an interval (like 30s, 5m, 1h30m or 2d)"},
        {"@every 30m1h",
         "schedule '@every 30m1h': @every: in '30m1h' the units must go from the largest to the "
         "smallest, each at most once (like 30s, 5m, 1h30m or 2d)"},
        {"@every 1h1h",
         "schedule '@every 1h1h': @every: in '1h1h' the units must go from the largest to the "
         "smallest, each at most once (like 30s, 5m, 1h30m or 2d)"},
        {"@every 1001d", "schedule '@every 1001d': @every: the interval must be at most 1000d, got '1001d'"},
        {"@every 1000d1s", "schedule '@every 1000d1s': @every: the interval must be at most 1000d, got '1000d1s'"},
        {"@every 99999999999999999999d",
         "schedule '@every 99999999999999999999d': @every: the interval must be at most 1000d, got "
         "'99999999999999999999d'"},
        {"@every", "schedule '@every': @every needs an interval, like '@every 30s' or '@every 1h30m'"},
        {"@every 5m 10s", "schedule '@every 5m 10s': @every takes one interval, got '5m 10s'"},
        {"TZ=+02:00 @every 5m",
         "schedule 'TZ=+02:00 @every 5m': TZ= does not apply to @every: its slots are "
         "instants counted from 1970-01-01 UTC, the same at every offset"},
        {"TZ=Europe/Berlin 0 3 * * *",
         "schedule 'TZ=Europe/Berlin 0 3 * * *': TZ=Europe/Berlin: only fixed offsets "
         "from UTC are supported (like TZ=+02:00, TZ=-05:30 or TZ=UTC), not zone names"},
        {"TZ= 0 3 * * *", "schedule 'TZ= 0 3 * * *': TZ= needs an offset (like TZ=+02:00, TZ=-05:30 or TZ=UTC)"},
        {"TZ=+2 0 3 * * *",
         "schedule 'TZ=+2 0 3 * * *': TZ=+2: expected an offset (like TZ=+02:00, TZ=-05:30 or "
         "TZ=UTC)"},
        {"TZ=+02:60 0 3 * * *",
         "schedule 'TZ=+02:60 0 3 * * *': TZ=+02:60: expected an offset (like TZ=+02:00, "
         "TZ=-05:30 or TZ=UTC)"},
        {"TZ=-14:01 0 3 * * *",
         "schedule 'TZ=-14:01 0 3 * * *': TZ=-14:01: the offset must be between -14:00 and "
         "+14:00"},
        {"0 0 30 2 *",
         "schedule '0 0 30 2 *': never fires: no month in field 4 (month) has a day in field 3 (day of "
         "month)"},
        {"0 0 31 4,6,9,11 *",
         "schedule '0 0 31 4,6,9,11 *': never fires: no month in field 4 (month) has a day in "
         "field 3 (day of month)"},
        {"0 0 30-31 feb *",
         "schedule '0 0 30-31 feb *': never fires: no month in field 4 (month) has a day "
         "in field 3 (day of month)"},
    };
    for (const auto& c : cases) {
        try {
            Schedule::parse(c.expression);
            ADD_FAILURE() << "accepted '" << c.expression << "'";
        } catch (const UsageError& e) {
            EXPECT_EQ(std::string(e.what()), c.message);
        }
    }
}

TEST(Schedule, AnExpressionThatCanFireIsAccepted) {
    // February 29 fires; so do dates ruled out by one day field when the other may match.
    for (const char* expression : {"0 0 29 2 *", "0 0 28-31 2 *", "0 0 31 2 mon", "0 0 30-31 feb mon", "0 0 29 2 */7",
                                   "0 0 */30 2 *", "0 0 31 * *", "59 23 31 12 7", "TZ=+14:00 0 0 29 2 *"}) {
        EXPECT_NO_THROW(Schedule::parse(expression)) << expression;
    }
}

TEST(Schedule, KeepsTheExpressionAsGivenAndTellsIntervalsApart) {
    const auto cron = Schedule::parse("  */5 * * * *\t");
    EXPECT_EQ(cron.expression(), "  */5 * * * *\t");
    EXPECT_EQ(cron.interval(), std::nullopt);
    EXPECT_EQ(Schedule::parse("@every 1h30m").interval(), std::chrono::seconds(5400));
    EXPECT_EQ(Schedule::parse("@every 2d").interval(), std::chrono::seconds(172'800));
    EXPECT_EQ(Schedule::parse("@every 1d2h3m4s").interval(), std::chrono::seconds(93'784));
    EXPECT_EQ(Schedule::parse("@daily").interval(), std::nullopt);
}

TEST(Schedule, InstantsOutsideTheYearsItComputesAreRefused) {
    const auto schedule = Schedule::parse("@daily");
    EXPECT_THROW(schedule.next_after(Timestamp::max()), UsageError);
    EXPECT_THROW(schedule.next_after(Timestamp::min()), UsageError);
    EXPECT_THROW(schedule.next_after(latest_schedule_instant), UsageError);
    EXPECT_THROW(schedule.next_after(earliest_schedule_instant - microseconds(1)), UsageError);
    EXPECT_EQ(iso(schedule.next_after(earliest_schedule_instant)), "0001-01-02T00:00:00.000000Z");
    EXPECT_THROW(schedule.latest_at_or_before(Timestamp::max()), UsageError);
    EXPECT_EQ(iso(schedule.latest_at_or_before(latest_schedule_instant - microseconds(1))),
              "9999-12-31T00:00:00.000000Z");
    const auto every = Schedule::parse("@every 1000d");
    EXPECT_THROW(every.next_after(Timestamp::max()), UsageError);
    EXPECT_THROW(every.latest_at_or_before(Timestamp::max()), UsageError);
    EXPECT_EQ(every.latest_at_or_before(Timestamp::min()), std::nullopt);
    try {
        schedule.next_after(Timestamp::max());
        ADD_FAILURE() << "accepted Timestamp::max()";
    } catch (const UsageError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("schedule '@daily': ", 0), 0u) << e.what();
    }
}

}  // namespace
}  // namespace seesaw

#include "parse.hpp"

#include <charconv>
#include <cstdint>
#include <string>

#include "commands.hpp"
#include "seesaw/core/error.hpp"

namespace seesaw::cli {
namespace {

using std::chrono::milliseconds;

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// A cursor over the text of one value.
class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    bool done() const noexcept { return at_ == text_.size(); }
    char peek() const noexcept { return done() ? '\0' : text_[at_]; }
    bool take(char c) noexcept {
        if (peek() != c) return false;
        ++at_;
        return true;
    }
    // Exactly `count` digits.
    bool digits(std::size_t count, int& out) noexcept {
        if (text_.size() - at_ < count) return false;
        out = 0;
        for (std::size_t i = 0; i < count; ++i) {
            char c = text_[at_ + i];
            if (c < '0' || c > '9') return false;
            out = out * 10 + (c - '0');
        }
        at_ += count;
        return true;
    }
    // The digits of a decimal fraction (1 to 9), as microseconds.
    bool fraction_digits(std::int64_t& micros) noexcept {
        std::size_t count = 0;
        micros = 0;
        while (!done() && peek() >= '0' && peek() <= '9') {
            if (count < 6) micros = micros * 10 + (peek() - '0');
            ++count;
            ++at_;
        }
        if (count == 0 || count > 9) return false;
        for (std::size_t i = count; i < 6; ++i) micros *= 10;
        return true;
    }

private:
    std::string_view text_;
    std::size_t at_ = 0;
};

// `label` names the value in messages ("--older-than '7x'").
milliseconds duration(std::string_view text, const std::string& label) {
    auto fail = [&](std::string_view why) -> milliseconds { throw UserError(label + ": " + std::string(why)); };
    if (text.size() < 2) return fail("expected a whole number and a unit s, m, h or d (e.g. 30s, 5m, 2h, 7d)");
    std::int64_t unit_ms = 0;
    switch (text.back()) {
        case 's': unit_ms = 1000; break;
        case 'm': unit_ms = 60'000; break;
        case 'h': unit_ms = 3'600'000; break;
        case 'd': unit_ms = 86'400'000; break;
        default: return fail("the unit must be s, m, h or d (e.g. 30s, 5m, 2h, 7d)");
    }
    auto number = text.substr(0, text.size() - 1);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.front() == '-' || number.front() == '+')
        return fail("expected a whole number of 0 or more before the unit (e.g. 30s)");
    if (ec == std::errc::result_out_of_range) return fail("the number is too large");
    if (ec != std::errc() || end != number.data() + number.size())
        return fail("expected a whole number and a unit s, m, h or d (e.g. 30s, 5m, 2h, 7d)");
    // 100 years is more than any queue needs and keeps every sum in range.
    constexpr std::int64_t max_ms = 100LL * 366 * 86'400'000;
    if (value > max_ms / unit_ms) return fail("the duration is longer than 100 years");
    return milliseconds(value * unit_ms);
}

}  // namespace

milliseconds parse_duration(std::string_view text, std::string_view option) {
    return duration(text, std::string(option) + " " + quoted(text));
}

Timestamp parse_timestamp(std::string_view text, std::string_view option) {
    auto fail = [&](std::string_view why) -> Timestamp {
        throw UserError(std::string(option) + " " + quoted(text) + ": " + std::string(why));
    };
    constexpr std::string_view expected =
        "expected an ISO 8601 time such as 2026-12-01T09:30:00Z or 2026-12-01 09:30:00+02:00";
    Scanner in(text);
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    std::int64_t micros = 0;
    int offset_minutes = 0;
    if (!in.digits(4, year) || !in.take('-') || !in.digits(2, month) || !in.take('-') || !in.digits(2, day))
        return fail(expected);
    if (!in.done()) {
        if (!in.take('T') && !in.take('t') && !in.take(' ')) return fail(expected);
        if (!in.digits(2, hour) || !in.take(':') || !in.digits(2, minute)) return fail(expected);
        if (in.take(':')) {
            if (!in.digits(2, second)) return fail(expected);
            if ((in.take('.') || in.take(',')) && !in.fraction_digits(micros)) return fail(expected);
        }
        if (in.take('Z') || in.take('z')) {
            // UTC
        } else if (in.peek() == '+' || in.peek() == '-') {
            int sign = 1;
            if (in.take('-'))
                sign = -1;
            else
                in.take('+');
            int offset_hours = 0, offset_mins = 0;
            if (!in.digits(2, offset_hours)) return fail(expected);
            if (!in.done()) {
                in.take(':');
                if (!in.digits(2, offset_mins)) return fail(expected);
            }
            if (offset_hours > 23 || offset_mins > 59) return fail("the UTC offset is out of range");
            offset_minutes = sign * (offset_hours * 60 + offset_mins);
        }
        if (!in.done()) return fail(expected);
    }
    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return fail("no such date");
    if (hour > 23 || minute > 59 || second > 59) return fail("no such time of day");
    auto t = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
             std::chrono::seconds(second) + std::chrono::microseconds(micros) - std::chrono::minutes(offset_minutes);
    // An offset can carry a time out of the four-digit years, which the CLI
    // would print as 10000-01-01 or -001-12-31 and could not read back.
    constexpr std::chrono::sys_days earliest = std::chrono::year(1) / 1 / 1;
    constexpr std::chrono::sys_days after_latest = std::chrono::year(10000) / 1 / 1;
    if (t < earliest || t >= after_latest) return fail("the time is outside the years 0001 to 9999 in UTC");
    return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

RunAt parse_run_at(std::string_view text) {
    if (text.starts_with('+')) return RunAt{std::nullopt, duration(text.substr(1), "--run-at " + quoted(text))};
    return RunAt{parse_timestamp(text, "--run-at"), milliseconds(0)};
}

JobStatus parse_status(std::string_view text, std::string_view option) {
    if (auto status = parse_job_status(text)) return *status;
    throw UserError("unknown status " + quoted(text) + " for " + std::string(option) +
                    ": expected pending, running, succeeded, failed, dead_letter or cancelled");
}

JobId parse_job_id(std::string_view text) {
    try {
        return JobId::parse(text);
    } catch (const seesaw::UsageError&) {
        throw UserError("not a job id: " + quoted(text) +
                        " (expected a UUID such as 0193e4a1-7c2b-7d3e-9f00-3c5d2a1b4e6f)");
    }
}

}  // namespace seesaw::cli

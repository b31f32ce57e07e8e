#include "seesaw/core/schedule.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <span>
#include <vector>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::local_days;
using std::chrono::local_time;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

static_assert(earliest_schedule_instant == sys_days{std::chrono::year{1} / 1 / 1});
static_assert(latest_schedule_instant == sys_days{std::chrono::year{10000} / 1 / 1});

// Cron fields are searched in wall-clock minutes at the schedule's offset.
using WallMinute = local_time<minutes>;

constexpr std::array<std::string_view, 12> month_names = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> weekday_names = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// One of the five cron fields. A name's value is min + its index in names.
struct FieldSpec {
    int number;
    std::string_view label;
    int min;
    int max;
    std::span<const std::string_view> names;
};

constexpr std::array<FieldSpec, 5> field_specs = {{
    {1, "minute", 0, 59, {}},
    {2, "hour", 0, 23, {}},
    {3, "day of month", 1, 31, {}},
    {4, "month", 1, 12, month_names},
    {5, "day of week", 0, 7, weekday_names},
}};

struct Shorthand {
    std::string_view name;
    std::string_view fields;
};

constexpr std::array<Shorthand, 7> shorthands = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

constexpr minutes longest_utc_offset = hours(14);  // Kiribati's, the furthest from UTC in use
constexpr seconds longest_interval = days(1000);

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

std::string lowercase(std::string_view text) {
    std::string result(text);
    for (char& c : result) c = to_lower(c);
    return result;
}

bool all_of(std::string_view text, bool (*predicate)(char) noexcept) noexcept {
    if (text.empty()) return false;
    for (char c : text)
        if (!predicate(c)) return false;
    return true;
}

// Digits as a number, saturating at a value larger than any field or
// interval allows (so "99999999999999999999" is merely out of range).
std::int64_t to_number(std::string_view digits) noexcept {
    constexpr std::int64_t saturated = 1'000'000'000'000;
    std::int64_t value = 0;
    for (char c : digits) value = std::min(saturated, value * 10 + (c - '0'));
    return value;
}

// A character as a message shows it: itself when printable ASCII, else \xNN.
std::string shown(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) return std::string(1, c);
    constexpr std::string_view hex = "0123456789abcdef";
    return std::string("\\x") + hex[byte >> 4] + hex[byte & 0xf];
}

std::string range_text(const FieldSpec& spec) {
    std::string text = std::to_string(spec.min) + "–" + std::to_string(spec.max);
    if (!spec.names.empty()) text += " or " + std::string(spec.names.front()) + "–" + std::string(spec.names.back());
    return text;
}

// Reads an expression, throwing UsageError with the expression quoted first.
class Parser {
public:
    explicit Parser(std::string_view expression) : expression_(expression) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw UsageError("schedule '" + std::string(expression_) + "': " + problem);
    }

    // "Z", "UTC", "+02:00", "-05:30": minutes east of UTC.
    minutes utc_offset(std::string_view text) const {
        const std::string hint = "(like TZ=+02:00, TZ=-05:30 or TZ=UTC)";
        const auto lower = lowercase(text);
        if (lower == "z" || lower == "utc") return minutes(0);
        if (text.empty()) fail("TZ= needs an offset " + hint);
        if (text.front() != '+' && text.front() != '-') {
            fail("TZ=" + std::string(text) + ": only fixed offsets from UTC are supported " + hint +
                 ", not zone names");
        }
        const bool well_formed = text.size() == 6 && is_digit(text[1]) && is_digit(text[2]) && text[3] == ':' &&
                                 is_digit(text[4]) && is_digit(text[5]);
        if (!well_formed) fail("TZ=" + std::string(text) + ": expected an offset " + hint);
        const auto offset = hours(to_number(text.substr(1, 2))) + minutes(to_number(text.substr(4, 2)));
        if (to_number(text.substr(4, 2)) > 59) fail("TZ=" + std::string(text) + ": expected an offset " + hint);
        if (offset > longest_utc_offset)
            fail("TZ=" + std::string(text) + ": the offset must be between -14:00 and +14:00");
        return text.front() == '-' ? -offset : offset;
    }

    // "30s", "5m", "1h30m", "2d": units largest first, each at most once.
    seconds interval(std::string_view text) const {
        if (text.empty()) fail("@every needs an interval, like '@every 30s' or '@every 1h30m'");
        for (char c : text)
            if (is_blank(c)) fail("@every takes one interval, got '" + std::string(text) + "'");
        constexpr std::string_view units = "dhms";
        constexpr std::array<seconds, 4> unit_lengths = {days(1), hours(1), minutes(1), seconds(1)};
        const std::string hint = " (like 30s, 5m, 1h30m or 2d)";
        seconds total{0};
        std::size_t next_unit = 0;  // units before this one are used up
        std::size_t i = 0;
        while (i < text.size()) {
            const std::size_t digits_start = i;
            while (i < text.size() && is_digit(text[i])) ++i;
            if (i == digits_start) fail("@every: '" + std::string(text) + "' is not an interval" + hint);
            const auto number = to_number(text.substr(digits_start, i - digits_start));
            if (i == text.size()) {
                fail("@every: '" + std::string(text) + "' has no unit after " + std::string(text.substr(digits_start)) +
                     " (expected s, m, h or d)");
            }
            const auto unit = units.find(text[i]);
            if (unit == std::string_view::npos) {
                fail("@every: unknown unit '" + shown(text[i]) + "' in '" + std::string(text) +
                     "' (expected s, m, h or d)");
            }
            if (unit < next_unit) {
                fail("@every: in '" + std::string(text) + "' the units must go from the largest to the smallest, " +
                     "each at most once" + hint);
            }
            next_unit = unit + 1;
            ++i;
            // number is at most 10^12: far from overflowing, even in days.
            total = std::min(total + number * unit_lengths[unit], longest_interval + seconds(1));
        }
        if (total < seconds(1)) fail("@every: the interval must be at least 1s, got '" + std::string(text) + "'");
        if (total > longest_interval)
            fail("@every: the interval must be at most 1000d, got '" + std::string(text) + "'");
        return total;
    }

    // The five cron fields, separated by blanks.
    detail::CronFields cron(std::string_view text) const {
        std::vector<std::string_view> fields;
        text = trim(text);
        while (!text.empty()) {
            std::size_t end = 0;
            while (end < text.size() && !is_blank(text[end])) ++end;
            fields.push_back(text.substr(0, end));
            text = trim(text.substr(end));
        }
        if (fields.size() != field_specs.size()) {
            fail("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                 std::to_string(fields.size()));
        }
        detail::CronFields cron;
        cron.minutes = field(fields[0], field_specs[0]);
        cron.hours = field(fields[1], field_specs[1]);
        cron.days_of_month = field(fields[2], field_specs[2]);
        cron.months = field(fields[3], field_specs[3]);
        cron.days_of_week = field(fields[4], field_specs[4]);
        if (cron.days_of_week & (std::uint64_t{1} << 7)) cron.days_of_week = (cron.days_of_week & 0x7f) | 1;
        cron.either_day_matches = fields[2].front() != '*' && fields[4].front() != '*';
        if (!cron.either_day_matches && !has_a_date(cron)) {
            fail("never fires: no month in field 4 (month) has a day in field 3 (day of month)");
        }
        return cron;
    }

private:
    [[noreturn]] void fail_field(const FieldSpec& spec, const std::string& problem) const {
        fail("field " + std::to_string(spec.number) + " (" + std::string(spec.label) + "): " + problem);
    }

    // A comma list of items: bit v on for each value v the field allows.
    std::uint64_t field(std::string_view text, const FieldSpec& spec) const {
        for (char c : text) {
            if (!is_digit(c) && !is_letter(c) && c != '*' && c != '-' && c != '/' && c != ',')
                fail_field(spec, "unexpected character '" + shown(c) + "' in '" + std::string(text) + "'");
        }
        std::uint64_t values = 0;
        std::size_t start = 0;
        for (;;) {
            const auto comma = text.find(',', start);
            const auto item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
            if (item.empty()) fail_field(spec, "empty item in list '" + std::string(text) + "'");
            values |= this->item(item, spec);
            if (comma == std::string_view::npos) return values;
            start = comma + 1;
        }
    }

    // "*", "5", "mon", "1-5", "mon-fri", "*/15", "1-30/5", "5/15" (5 to the field's max).
    std::uint64_t item(std::string_view text, const FieldSpec& spec) const {
        const auto slash = text.find('/');
        const auto base = text.substr(0, slash);
        int first = spec.min;
        int last = spec.max;
        if (base != "*") {
            const auto dash = base.find('-');
            first = value(base.substr(0, dash), text, spec);
            if (dash != std::string_view::npos) {
                const auto last_text = base.substr(dash + 1);
                last = value(last_text, text, spec);
                // "mon-sun": a Sunday closing a range is the 7 of Vixie cron.
                if (spec.number == 5 && last == 0 && first > 0 && all_of(last_text, is_letter)) last = 7;
                if (first > last) {
                    // Suggest the two ranges that wrap around, spelt as the user spelt them.
                    const auto first_text = base.substr(0, dash);
                    const bool named = all_of(first_text, is_letter);
                    const int highest = spec.number == 5 ? 6 : spec.max;  // 7 would be Sunday again
                    const auto spelt = [&](int v) {
                        return named ? std::string(spec.names[static_cast<std::size_t>(v - spec.min)])
                                     : std::to_string(v);
                    };
                    fail_field(spec, "range '" + std::string(base) + "' ends before it starts; write it as two, '" +
                                         std::string(first_text) + "-" + spelt(highest) + "," + spelt(spec.min) + "-" +
                                         std::string(last_text) + "'");
                }
            } else if (slash == std::string_view::npos) {
                last = first;
            }
        }
        int step = 1;
        if (slash != std::string_view::npos) {
            const auto step_text = text.substr(slash + 1);
            if (!all_of(step_text, is_digit)) malformed(text, spec);
            const auto longest_step = spec.max - spec.min;
            const auto number = to_number(step_text);
            if (number < 1 || number > longest_step) {
                fail_field(spec, "step " + std::string(step_text) + " in '" + std::string(text) +
                                     "' must be between 1 and " + std::to_string(longest_step));
            }
            step = static_cast<int>(number);
        }
        std::uint64_t values = 0;
        for (int v = first; v <= last; v += step) values |= std::uint64_t{1} << v;
        return values;
    }

    [[noreturn]] void malformed(std::string_view item, const FieldSpec& spec) const {
        fail_field(spec, "'" + std::string(item) + "' is not a value, a range or a step (like 5, 1-5, */15 or 1-30/5)");
    }

    // A number or a name (text) of an item, within the field's range.
    int value(std::string_view text, std::string_view item, const FieldSpec& spec) const {
        if (all_of(text, is_digit)) {
            const auto number = to_number(text);
            if (number < spec.min || number > spec.max)
                fail_field(spec, std::string(text) + " is out of range " + range_text(spec));
            return static_cast<int>(number);
        }
        if (!all_of(text, is_letter)) malformed(item, spec);
        const auto name = lowercase(text);
        for (std::size_t i = 0; i < spec.names.size(); ++i)
            if (spec.names[i] == name) return spec.min + static_cast<int>(i);
        fail_field(spec, "unknown name '" + std::string(text) + "' (expected " +
                             (spec.names.empty() ? "a number " : "") + range_text(spec) + ")");
    }

    // When the day fields must both match: whether some month allows a day
    // it has. Every date, February 29 included, falls on every day of the
    // week in the 400-year Gregorian cycle, so the day of week cannot rule
    // a date out for good.
    static bool has_a_date(const detail::CronFields& cron) noexcept {
        constexpr std::array<unsigned, 13> longest_month = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        for (unsigned month = 1; month <= 12; ++month) {
            const auto days_it_has = ((std::uint64_t{1} << (longest_month[month] + 1)) - 1) & ~std::uint64_t{1};
            if ((cron.months >> month & 1) && (cron.days_of_month & days_it_has)) return true;
        }
        return false;
    }

    std::string_view expression_;
};

bool allows(std::uint64_t values, unsigned v) noexcept { return (values >> v) & 1; }

// The smallest allowed value at or above v, or -1.
int next_allowed(std::uint64_t values, unsigned v) noexcept {
    const auto above = v >= 64 ? 0 : values >> v;
    return above == 0 ? -1 : static_cast<int>(v) + std::countr_zero(above);
}

// The largest allowed value at or below v (v < 63), or -1.
int last_allowed(std::uint64_t values, unsigned v) noexcept {
    const auto below = values & ((std::uint64_t{2} << v) - 1);
    return below == 0 ? -1 : 63 - std::countl_zero(below);
}

bool day_matches(const detail::CronFields& cron, local_days day) noexcept {
    const year_month_day date{day};
    const bool by_month_day = allows(cron.days_of_month, unsigned(date.day()));
    const bool by_week_day = allows(cron.days_of_week, std::chrono::weekday{day}.c_encoding());
    return cron.either_day_matches ? by_month_day || by_week_day : by_month_day && by_week_day;
}

// The first day of the first allowed month after date's month.
local_days first_day_of_next_month(const detail::CronFields& cron, year_month_day date) noexcept {
    auto year = date.year();
    auto month = next_allowed(cron.months, unsigned(date.month()) + 1);
    if (month < 0) {
        ++year;
        month = next_allowed(cron.months, 1);
    }
    return local_days{year / std::chrono::month(static_cast<unsigned>(month)) / 1};
}

// The last day of the last allowed month before date's month.
local_days last_day_of_previous_month(const detail::CronFields& cron, year_month_day date) noexcept {
    auto year = date.year();
    auto month = last_allowed(cron.months, unsigned(date.month()) - 1);
    if (month < 1) {
        --year;
        month = last_allowed(cron.months, 12);
    }
    return local_days{year / std::chrono::month(static_cast<unsigned>(month)) / std::chrono::last};
}

// The first allowed minute at or after `from`. Each step skips a whole month,
// day or hour that cannot match, so years pass in a few hundred steps.
WallMinute first_slot_from(const detail::CronFields& cron, WallMinute from) {
    // A schedule that fires at all fires in every 400-year Gregorian cycle.
    const auto give_up = year_month_day{floor<days>(from)}.year() + std::chrono::years(401);
    auto wall = from;
    for (;;) {
        const auto day = floor<days>(wall);
        const year_month_day date{day};
        if (date.year() > give_up)
            throw Error("seesaw::Schedule found no slot in 400 years: a bug; please report the expression");
        if (!allows(cron.months, unsigned(date.month()))) {
            wall = first_day_of_next_month(cron, date);
            continue;
        }
        if (!day_matches(cron, day)) {
            wall = day + days(1);
            continue;
        }
        const auto hour = static_cast<unsigned>(floor<hours>(wall - day).count());
        const auto allowed_hour = next_allowed(cron.hours, hour);
        if (allowed_hour < 0) {
            wall = day + days(1);
            continue;
        }
        if (static_cast<unsigned>(allowed_hour) != hour) {
            wall = day + hours(allowed_hour);
            continue;
        }
        const auto minute = static_cast<unsigned>((wall - day - hours(hour)).count());
        const auto allowed_minute = next_allowed(cron.minutes, minute);
        if (allowed_minute < 0) {
            wall = day + hours(hour + 1);
            continue;
        }
        return day + hours(hour) + minutes(allowed_minute);
    }
}

// The last allowed minute at or before `from`, or nullopt when there is
// none at or after `earliest`.
std::optional<WallMinute> last_slot_from(const detail::CronFields& cron, WallMinute from, WallMinute earliest) {
    auto wall = from;
    while (wall >= earliest) {
        const auto day = floor<days>(wall);
        const year_month_day date{day};
        if (!allows(cron.months, unsigned(date.month()))) {
            wall = last_day_of_previous_month(cron, date) + days(1) - minutes(1);
            continue;
        }
        if (!day_matches(cron, day)) {
            wall = day - minutes(1);
            continue;
        }
        const auto hour = static_cast<unsigned>(floor<hours>(wall - day).count());
        const auto allowed_hour = last_allowed(cron.hours, hour);
        if (allowed_hour < 0) {
            wall = day - minutes(1);
            continue;
        }
        if (static_cast<unsigned>(allowed_hour) != hour) {
            wall = day + hours(allowed_hour + 1) - minutes(1);
            continue;
        }
        const auto minute = static_cast<unsigned>((wall - day - hours(hour)).count());
        const auto allowed_minute = last_allowed(cron.minutes, minute);
        if (allowed_minute < 0) {
            wall = day + hours(hour) - minutes(1);
            continue;
        }
        wall = day + hours(hour) + minutes(allowed_minute);
        if (wall < earliest) break;
        return wall;
    }
    return std::nullopt;
}

WallMinute wall_minute(Timestamp t, minutes utc_offset) {
    return floor<minutes>(local_time<microseconds>{t.time_since_epoch() + utc_offset});
}

Timestamp to_timestamp(WallMinute wall, minutes utc_offset) { return Timestamp{wall.time_since_epoch() - utc_offset}; }

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const auto quotient = a / b;
    return (a % b != 0 && a < 0) ? quotient - 1 : quotient;
}

}  // namespace

Schedule Schedule::parse(std::string_view expression) {
    const Parser parser(expression);
    Schedule schedule;
    schedule.expression_ = std::string(expression);
    auto rest = trim(expression);
    if (rest.empty()) {
        parser.fail(
            "the expression is empty; expected 5 cron fields, a shorthand like @daily, or @every and an "
            "interval");
    }
    const auto first_word = [&] {
        std::size_t end = 0;
        while (end < rest.size() && !is_blank(rest[end])) ++end;
        const auto word = rest.substr(0, end);
        rest = trim(rest.substr(end));
        return word;
    };
    std::optional<minutes> utc_offset;
    if (rest.starts_with("TZ=")) utc_offset = parser.utc_offset(first_word().substr(3));
    if (rest.starts_with('@')) {
        const auto word = first_word();
        const auto name = lowercase(word);
        if (name == "@every") {
            if (utc_offset) {
                parser.fail(
                    "TZ= does not apply to @every: its slots are instants counted from 1970-01-01 UTC, "
                    "the same at every offset");
            }
            schedule.interval_ = parser.interval(rest);
            return schedule;
        }
        const auto shorthand =
            std::find_if(shorthands.begin(), shorthands.end(), [&](const Shorthand& s) { return s.name == name; });
        if (shorthand == shorthands.end()) {
            parser.fail("unknown shorthand '" + std::string(word) +
                        "' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every "
                        "and an interval)");
        }
        if (!rest.empty()) parser.fail(std::string(word) + " takes no fields, got '" + std::string(rest) + "'");
        rest = shorthand->fields;
    }
    schedule.cron_ = parser.cron(rest);
    schedule.cron_.utc_offset = utc_offset.value_or(minutes(0));
    return schedule;
}

Timestamp Schedule::next_after(Timestamp after) const {
    if (after < earliest_schedule_instant || after >= latest_schedule_instant) {
        throw UsageError("schedule '" + expression_ +
                         "': slots are computed after instants from 0001-01-01 to 9999-12-31 (UTC), got " +
                         std::to_string(after.time_since_epoch().count()) + " µs since 1970");
    }
    if (interval_ > seconds(0)) {
        const auto length = microseconds(interval_).count();
        return Timestamp{microseconds((floor_div(after.time_since_epoch().count(), length) + 1) * length)};
    }
    const auto offset = cron_.utc_offset;
    return to_timestamp(first_slot_from(cron_, wall_minute(after, offset) + minutes(1)), offset);
}

std::optional<Timestamp> Schedule::latest_at_or_before(Timestamp at) const {
    const Timestamp epoch{};
    if (at < epoch) return std::nullopt;
    if (at >= latest_schedule_instant) {
        throw UsageError("schedule '" + expression_ + "': slots are computed up to 9999-12-31 (UTC), got an instant " +
                         std::to_string(at.time_since_epoch().count()) + " µs since 1970");
    }
    if (interval_ > seconds(0)) {
        const auto length = microseconds(interval_).count();
        return Timestamp{microseconds(at.time_since_epoch().count() / length * length)};
    }
    const auto offset = cron_.utc_offset;
    // The epoch is a whole minute at any offset, so the first wall minute at
    // or after it is its own.
    const auto slot = last_slot_from(cron_, wall_minute(at, offset), wall_minute(epoch, offset));
    if (!slot) return std::nullopt;
    return to_timestamp(*slot, offset);
}

std::optional<std::chrono::seconds> Schedule::interval() const noexcept {
    if (interval_ > seconds(0)) return interval_;
    return std::nullopt;
}

}  // namespace seesaw

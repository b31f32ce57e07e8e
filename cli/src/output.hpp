#pragma once
// What the CLI prints: aligned tables for people, one JSON document (written
// with RapidJSON's Writer) for scripts, and the formats both share.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job.hpp"

namespace seesaw::cli {

enum class Align { left, right };

struct Column {
    std::string title;
    Align align = Align::left;
};

// Columns padded to their widest cell, two spaces apart; the last column is
// not padded on the right.
class Table {
public:
    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
    void add_row(std::vector<std::string> cells);
    std::size_t rows() const noexcept { return rows_.size(); }
    void print(std::ostream& out) const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// "name:  value" lines, the values aligned.
void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// One JSON document, printed on one line.
class JsonDocument {
public:
    JsonDocument() : writer_(buffer_) { writer_.SetMaxDecimalPlaces(3); }
    rapidjson::Writer<rapidjson::StringBuffer>& writer() noexcept { return writer_; }
    void print(std::ostream& out) const;

private:
    rapidjson::StringBuffer buffer_;
    rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_key(JsonWriter& json, std::string_view key);
void write_string(JsonWriter& json, std::string_view value);
void write_optional_string(JsonWriter& json, const std::optional<std::string>& value);
// Every column of a job; the payload is embedded as JSON, not as a string.
void write_job(JsonWriter& json, const Job& job);
// {"pending": n, "running": n, "succeeded": n, "failed": n, "dead_letter": n, "cancelled": n}
void write_counts(JsonWriter& json, QueueStats counts);
// {"<key>": [job, ...]} as one document on `out`.
void print_jobs_json(std::ostream& out, std::string_view key, const std::vector<Job>& jobs);

// "2026-11-29T03:04:05.123456Z"
std::string format_time(Timestamp t);
// A short table form: "2026-11-29 03:04:05".
std::string format_time_short(Timestamp t);
// "0s", "42s", "4m12s", "2h03m", "3d04h".
std::string format_age(double seconds);
// Milliseconds as the largest whole unit: 604800000 → "7d", 90000 → "90s".
std::string format_duration(std::int64_t ms);
// The runs a job may have so far: max_retries + 1, and one more for each
// run that did not count (a lease that expired before its handler started,
// a snooze).
std::int64_t attempts_allowed(const Job& job);
// "attempt 2 of 4", "attempt 4 of 6 (2 snoozed, not counted)".
std::string format_attempts(const Job& job);
// One line, at most `width` characters (UTF-8 aware), "…" when cut.
std::string one_line(std::string_view text, std::size_t width);
// Re-indents a JSON document for people (RapidJSON's PrettyWriter, two
// spaces a level); values nested more than 32 levels deep are written on one
// line, so the output stays within a constant factor of the input's size.
// Text that is not JSON is returned as it is.
std::string pretty_json(std::string_view json);
// "1 job", "3 jobs".
std::string count_of(std::uint64_t n, std::string_view noun);

}  // namespace seesaw::cli

#include "output.hpp"

#include <rapidjson/memorystream.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace seesaw::cli {
namespace {

// Display width of UTF-8 text: code points, not bytes.
std::size_t width_of(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Streams a JSON document to a SAX handler (a writer) with no DOM and no
// recursion, so that no nesting depth can overflow the stack. False when the
// text is not JSON, or when the handler refuses a value; the handler has then
// seen part of it.
template <class Handler>
bool parse_into(std::string_view json, Handler& handler) {
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(json.data(), json.size());
    return !reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler).IsError();
}

// Accepts what a Writer can write: JSON whose numbers are finite as doubles.
// (jsonb stores any numeric; one just above the largest double reads as
// infinity, which a Writer refuses.)
struct Writable : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Writable> {
    bool Double(double d) { return std::isfinite(d); }
};

// Deeper than this, pretty_json writes values on one line.
constexpr std::size_t max_indented_depth = 32;

// RapidJSON's PrettyWriter down to max_indented_depth levels of nesting and
// its compact Writer below, so that indentation is at most 2 ×
// max_indented_depth spaces a line and the output at most about 34 times the
// input, however deep the input nests. (PrettyWriter's indentation grows with
// depth: 50,000 nested arrays, 100 KB, would print 5 GB.) Both writers keep
// the open containers on Writer's one level stack; Reader calls these
// methods, which hide theirs.
class DepthCappedPrettyWriter : public rapidjson::PrettyWriter<rapidjson::StringBuffer> {
    using Pretty = rapidjson::PrettyWriter<rapidjson::StringBuffer>;
    using Compact = rapidjson::Writer<rapidjson::StringBuffer>;

public:
    using Pretty::Pretty;

    bool Null() { return compact() ? Compact::Null() : Pretty::Null(); }
    bool Bool(bool b) { return compact() ? Compact::Bool(b) : Pretty::Bool(b); }
    bool Int(int i) { return compact() ? Compact::Int(i) : Pretty::Int(i); }
    bool Uint(unsigned u) { return compact() ? Compact::Uint(u) : Pretty::Uint(u); }
    bool Int64(std::int64_t i) { return compact() ? Compact::Int64(i) : Pretty::Int64(i); }
    bool Uint64(std::uint64_t u) { return compact() ? Compact::Uint64(u) : Pretty::Uint64(u); }
    bool Double(double d) { return compact() ? Compact::Double(d) : Pretty::Double(d); }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return compact() ? Compact::String(s, n, copy) : Pretty::String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) {
        return compact() ? Compact::Key(s, n, copy) : Pretty::Key(s, n, copy);
    }
    bool StartObject() { return compact() ? Compact::StartObject() : Pretty::StartObject(); }
    bool EndObject(rapidjson::SizeType n) { return compact() ? Compact::EndObject(n) : Pretty::EndObject(n); }
    bool StartArray() { return compact() ? Compact::StartArray() : Pretty::StartArray(); }
    bool EndArray(rapidjson::SizeType n) { return compact() ? Compact::EndArray(n) : Pretty::EndArray(n); }

private:
    // Open containers, counting the one an End closes: a container opened at
    // the last indented depth is written on one line, and closed on it.
    bool compact() const { return level_stack_.GetSize() / sizeof(Level) > max_indented_depth; }
};

}  // namespace

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> widths(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        widths[c] = width_of(columns_[c].title);
        for (const auto& row : rows_) widths[c] = std::max(widths[c], width_of(row[c]));
    }
    auto print_row = [&](auto cell_of) {
        std::string line;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            std::string_view cell = cell_of(c);
            std::size_t pad = widths[c] - width_of(cell);
            bool last = c + 1 == columns_.size();
            if (c > 0) line += "  ";
            if (columns_[c].align == Align::right) line.append(pad, ' ');
            line += cell;
            if (columns_[c].align == Align::left && !last) line.append(pad, ' ');
        }
        out << line << '\n';
    };
    print_row([&](std::size_t c) -> std::string_view { return columns_[c].title; });
    for (const auto& row : rows_) print_row([&](std::size_t c) -> std::string_view { return row[c]; });
}

void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::size_t width = 0;
    for (const auto& field : fields) width = std::max(width, width_of(field.first));
    for (const auto& [name, value] : fields)
        out << name << ':' << std::string(width - width_of(name) + 2, ' ') << value << '\n';
}

void JsonDocument::print(std::ostream& out) const {
    out.write(buffer_.GetString(), static_cast<std::streamsize>(buffer_.GetSize()));
    out << '\n';
}

void write_key(JsonWriter& json, std::string_view key) {
    json.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_string(JsonWriter& json, std::string_view value) {
    json.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_optional_string(JsonWriter& json, const std::optional<std::string>& value) {
    if (value)
        write_string(json, *value);
    else
        json.Null();
}

void write_counts(JsonWriter& json, QueueStats counts) {
    json.StartObject();
    for (auto status : {JobStatus::pending, JobStatus::running, JobStatus::succeeded, JobStatus::failed,
                        JobStatus::dead_letter, JobStatus::cancelled}) {
        write_key(json, to_string(status));
        json.Int64(counts[status]);
    }
    json.EndObject();
}

void write_job(JsonWriter& json, const Job& job) {
    json.StartObject();
    write_key(json, "id");
    write_string(json, job.id.to_string());
    write_key(json, "type");
    write_string(json, job.job_type);
    write_key(json, "queue");
    write_string(json, job.queue);
    write_key(json, "status");
    write_string(json, to_string(job.status));
    write_key(json, "attempt");
    json.Int(job.attempt);
    write_key(json, "uncounted_attempts");
    json.Int(job.uncounted_attempts);
    write_key(json, "snoozes");
    json.Int(job.snoozes);
    write_key(json, "max_retries");
    json.Int(job.max_retries);
    write_key(json, "priority");
    json.Int(job.priority);
    write_key(json, "version");
    json.Int(job.version);
    write_key(json, "run_at");
    write_string(json, format_time(job.run_at));
    write_key(json, "created_at");
    write_string(json, format_time(job.created_at));
    write_key(json, "updated_at");
    write_string(json, format_time(job.updated_at));
    write_key(json, "worker_id");
    write_optional_string(json, job.worker_id);
    write_key(json, "lease_expires_at");
    write_optional_string(json, job.lease_expires_at ? std::optional(format_time(*job.lease_expires_at)) : std::nullopt);
    write_key(json, "error_kind");
    write_optional_string(json, job.error_kind ? std::optional(std::string(to_string(*job.error_kind))) : std::nullopt);
    write_key(json, "error_message");
    write_optional_string(json, job.error_message);
    write_key(json, "unique_key");
    write_optional_string(json, job.unique_key);
    write_key(json, "unique_bucket");
    write_optional_string(json, job.unique_bucket ? std::optional(format_time(*job.unique_bucket)) : std::nullopt);
    write_key(json, "unique_states");
    if (job.unique_key) {
        json.StartArray();
        for (auto state : job.unique_states) write_string(json, to_string(state));
        json.EndArray();
    } else {
        json.Null();
    }
    write_key(json, "errors");
    json.StartArray();
    for (const auto& error : job.errors) {
        json.StartObject();
        write_key(json, "attempt");
        json.Int(error.attempt);
        write_key(json, "at");
        write_string(json, format_time(error.at));
        write_key(json, "worker_id");
        write_optional_string(json, error.worker_id);
        write_key(json, "kind");
        write_string(json, to_string(error.kind));
        write_key(json, "message");
        write_string(json, error.message);
        json.EndObject();
    }
    json.EndArray();
    write_key(json, "payload");
    // Re-written rather than copied, so that it is as compact as the rest;
    // checked first, so that nothing half-written reaches the document.
    Writable check;
    if (parse_into(job.payload, check))
        parse_into(job.payload, json);
    else
        write_string(json, job.payload);  // a number beyond a double's range; never print broken JSON
    json.EndObject();
}

void print_jobs_json(std::ostream& out, std::string_view key, const std::vector<Job>& jobs) {
    JsonDocument doc;
    auto& json = doc.writer();
    json.StartObject();
    write_key(json, key);
    json.StartArray();
    for (const auto& job : jobs) write_job(json, job);
    json.EndArray();
    json.EndObject();
    doc.print(out);
}

std::string format_time(Timestamp t) { return format_timestamp(t); }

std::string format_time_short(Timestamp t) {
    std::string text = format_timestamp(t);  // 2026-11-29T03:04:05.123456Z
    text[10] = ' ';
    return text.substr(0, 19);
}

std::string format_age(double seconds) {
    if (!(seconds > 0)) return "0s";
    auto s = static_cast<std::int64_t>(std::floor(seconds));
    char buf[48];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
    else if (s < 86400)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    else
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600));
    return buf;
}

std::string format_duration(std::int64_t ms) {
    if (ms == 0) return "0s";
    struct Unit {
        std::int64_t ms;
        const char* suffix;
    };
    for (auto unit : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
        if (ms % unit.ms == 0) return std::to_string(ms / unit.ms) + unit.suffix;
    }
    return std::to_string(ms) + "ms";
}

std::int64_t attempts_allowed(const Job& job) {
    return std::int64_t{job.max_retries} + 1 + job.uncounted_attempts + job.snoozes;
}

std::string format_attempts(const Job& job) {
    std::string out = "attempt " + std::to_string(job.attempt) + " of " + std::to_string(attempts_allowed(job));
    std::string notes;
    if (job.uncounted_attempts > 0)
        notes = std::to_string(job.uncounted_attempts) + " not counted: the lease expired before it started";
    if (job.snoozes > 0) notes += (notes.empty() ? "" : "; ") + std::to_string(job.snoozes) + " snoozed, not counted";
    if (!notes.empty()) out += " (" + notes + ")";
    return out;
}

std::string one_line(std::string_view text, std::size_t width) {
    std::string out;
    std::size_t shown = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool starts_code_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (starts_code_point) {
            if (shown == width) {
                // Cut: replace the last character with an ellipsis.
                while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
                if (!out.empty()) out.pop_back();
                out += "\u2026";
                return out;
            }
            ++shown;
        }
        out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    }
    return out;
}

std::string pretty_json(std::string_view json) {
    rapidjson::StringBuffer buffer;
    DepthCappedPrettyWriter writer(buffer);
    writer.SetIndent(' ', 2);
    if (!parse_into(json, writer)) return std::string(json);
    return std::string(buffer.GetString(), buffer.GetSize());
}

std::string count_of(std::uint64_t n, std::string_view noun) {
    return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

}  // namespace seesaw::cli

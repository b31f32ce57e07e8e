// What an enqueue checks before anything is written (validate_new_job, with
// validate_json_object for the payload), on a NewJob made from any bytes:
//
//   <job type>\n<queue>\n<priority> <max_retries> <delay ms> [<run_at µs since 1970>]\n<payload>
//
// (a missing line is empty, a number that does not parse keeps its default).
// A job is refused with UsageError or PayloadError and nothing else; a job
// that passes is one PostgreSQL can store and a worker can decode: names and
// strings valid UTF-8 without NUL, the payload one JSON object.
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "enqueue_params.hpp"
#include "fuzz_check.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job_traits.hpp"
#include "seesaw/core/limits.hpp"

namespace {

std::string_view next_line(std::string_view& text) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    return line;
}

// An option left unset (its default applies) unless a number is there.
template <class Number>
void next_number(std::string_view& text, std::optional<Number>& out) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    Number value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc()) out = value;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    while (!text.empty() && text.front() != ' ') text.remove_prefix(1);
}

template <class Number>
void next_number(std::string_view& text, Number& out) {
    std::optional<Number> value;
    next_number(text, value);
    if (value) out = *value;
}

// Every string of a document (keys too) as the JSON reader decodes it.
struct StringsAreStorable : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, StringsAreStorable> {
    bool String(const char* text, rapidjson::SizeType length, bool) {
        const std::string_view s(text, length);
        SEESAW_FUZZ_CHECK(s.find('\0') == std::string_view::npos);
        SEESAW_FUZZ_CHECK(seesaw::is_valid_utf8(s));
        return true;
    }
    bool Key(const char* text, rapidjson::SizeType length, bool copy) { return String(text, length, copy); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = seesaw::fuzz::text_of(data, size);
    seesaw::NewJob job{std::string(next_line(text)), "", {}, seesaw::JobId()};
    job.options.queue = std::string(next_line(text));
    auto numbers = next_line(text);
    next_number(numbers, job.options.priority);
    next_number(numbers, job.options.max_retries);
    std::int64_t delay_ms = 0, run_at_us = 0;
    next_number(numbers, delay_ms);
    job.options.delay = std::chrono::milliseconds(delay_ms);
    if (numbers.find_first_not_of(' ') != std::string_view::npos) {
        next_number(numbers, run_at_us);
        job.options.run_at = seesaw::Timestamp(std::chrono::microseconds(run_at_us));
    }
    job.payload = std::string(text);

    try {
        seesaw::detail::validate_new_job(job, 0, 1);
    } catch (const seesaw::UsageError&) {
        return 0;
    } catch (const seesaw::PayloadError& e) {
        SEESAW_FUZZ_CHECK(std::string_view(e.what()).starts_with("payload for job type '"));
        return 0;
    }

    for (const auto& name : {job.job_type, std::string(seesaw::queue_of(job.options))}) {
        SEESAW_FUZZ_CHECK(!name.empty());
        SEESAW_FUZZ_CHECK(name.find('\0') == std::string::npos);
        SEESAW_FUZZ_CHECK(seesaw::is_valid_utf8(name));
    }
    SEESAW_FUZZ_CHECK(seesaw::max_retries_of(job.options) >= 0);
    SEESAW_FUZZ_CHECK(job.options.delay.count() >= 0);
    SEESAW_FUZZ_CHECK(job.payload.find('\0') == std::string::npos);
    // PostgreSQL refuses text that is not UTF-8 (the whole payload, not only its strings).
    SEESAW_FUZZ_CHECK(seesaw::is_valid_utf8(job.payload));
    StringsAreStorable strings;
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(job.payload.data(), job.payload.size());
    SEESAW_FUZZ_CHECK(!reader.Parse<rapidjson::kParseIterativeFlag>(stream, strings).IsError());
    // A worker decodes what was enqueued.
    SEESAW_FUZZ_CHECK(seesaw::detail::parse_payload(job.payload, job.job_type).IsObject());

    // Both ways of sending it build their parameters.
    seesaw::detail::EnqueueParams params(job);
    SEESAW_FUZZ_CHECK(params.get().size() == 9);
    const auto arrays = seesaw::detail::enqueue_batch_arrays({&job, 1}, job.payload.size());
    SEESAW_FUZZ_CHECK(arrays[2].size() >= job.payload.size());
    return 0;
}

// The CLI's value parsers (cli/src/parse.cpp) on any text: each returns a
// value or throws cli::UserError naming the option, and what they return
// prints back as text that parses to the same value.
#include <algorithm>
#include <cctype>
#include <string>

#include "commands.hpp"
#include "fuzz_check.hpp"
#include "output.hpp"
#include "parse.hpp"

namespace {

using seesaw::cli::UserError;

bool names(const UserError& e, std::string_view option) { return std::string_view(e.what()).find(option) == 0; }

void durations(std::string_view text) {
    std::chrono::milliseconds ms;
    try {
        ms = seesaw::cli::parse_duration(text, "--older-than");
    } catch (const UserError& e) {
        SEESAW_FUZZ_CHECK(names(e, "--older-than '"));
        return;
    }
    SEESAW_FUZZ_CHECK(ms.count() >= 0);
    SEESAW_FUZZ_CHECK(ms <= std::chrono::days(100 * 366));
    SEESAW_FUZZ_CHECK(seesaw::cli::parse_duration(seesaw::cli::format_duration(ms.count()), "--older-than") == ms);
}

void timestamps(std::string_view text) {
    seesaw::Timestamp t;
    try {
        t = seesaw::cli::parse_timestamp(text, "--run-at");
    } catch (const UserError& e) {
        SEESAW_FUZZ_CHECK(names(e, "--run-at '"));
        return;
    }
    SEESAW_FUZZ_CHECK(seesaw::cli::parse_timestamp(seesaw::format_timestamp(t), "--run-at") == t);
}

void run_ats(std::string_view text) {
    seesaw::cli::RunAt run_at;
    try {
        run_at = seesaw::cli::parse_run_at(text);
    } catch (const UserError& e) {
        SEESAW_FUZZ_CHECK(names(e, "--run-at '"));
        return;
    }
    if (text.starts_with('+')) {
        SEESAW_FUZZ_CHECK(!run_at.at);
        SEESAW_FUZZ_CHECK(run_at.delay == seesaw::cli::parse_duration(text.substr(1), "--run-at"));
    } else {
        SEESAW_FUZZ_CHECK(run_at.at && *run_at.at == seesaw::cli::parse_timestamp(text, "--run-at"));
        SEESAW_FUZZ_CHECK(run_at.delay.count() == 0);
    }
}

void statuses(std::string_view text) {
    try {
        SEESAW_FUZZ_CHECK(seesaw::to_string(seesaw::cli::parse_status(text, "--status")) == text);
    } catch (const UserError& e) {
        SEESAW_FUZZ_CHECK(std::string_view(e.what()).find("for --status") != std::string_view::npos);
    }
}

void job_ids(std::string_view text) {
    try {
        auto id = seesaw::cli::parse_job_id(text);
        std::string lower(text);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        SEESAW_FUZZ_CHECK(id.to_string() == lower);
    } catch (const UserError& e) {
        SEESAW_FUZZ_CHECK(std::string_view(e.what()).starts_with("not a job id: '"));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // What a command-line argument can be: text up to a NUL.
    auto text = seesaw::fuzz::text_of(data, size);
    text = text.substr(0, text.find('\0'));
    durations(text);
    timestamps(text);
    run_ats(text);
    statuses(text);
    job_ids(text);
    return 0;
}

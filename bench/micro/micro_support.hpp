#pragma once
// Shared pieces of the micro-benchmarks: a typical typed job, job type
// names, and per-job wall/CPU counters. (The loop thread is loop_thread.hpp.)

#include <benchmark/benchmark.h>

#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job_id.hpp"
#include "seesaw/core/job_traits.hpp"

namespace seesaw::bench {

// A SendEmail-like job: four fields, two of them longer than the small-string
// buffer (so a decode allocates twice, as real payloads do).
struct SendEmail {
    std::string to;
    std::string subject;
    std::string template_name;
    std::int64_t user_id = 0;
};

inline SendEmail sample_email(std::int64_t n) {
    return {"alice.smith" + std::to_string(n % 1000) + "@example.com",
            "Your invoice #" + std::to_string(18342 + n) + " is ready", "invoice_ready", 421337 + n};
}

// sample_email(n)'s payload as the claim returns it: jsonb's text output
// (keys sorted by length, ", " and ": " separators), about 125 bytes.
inline std::string claimed_payload(std::int64_t n) {
    auto job = sample_email(n);
    return R"({"to": ")" + job.to + R"(", "subject": ")" + job.subject + R"(", "user_id": )" +
           std::to_string(job.user_id) + R"(, "template": ")" + job.template_name + R"("})";
}

// Job type names of realistic length; all fit std::string's 15-byte
// small-string buffer. long_job_types() prefixes them past it.
inline std::vector<std::string> short_job_types(std::size_t n) {
    static const char* const names[] = {
        "send_email",    "send_sms",      "resize_image",  "charge_card", "refund",
        "sync_contact",  "expire_tokens", "notify_hook",   "import_items", "export_csv",
        "reindex",       "thumbnail",     "digest_weekly", "archive_audit", "rollup_hourly",
        "purge_uploads", "welcome_email", "invoice_pdf",   "payout",       "geocode"};
    if (n > std::size(names)) throw std::invalid_argument("at most 20 job types");
    return {names, names + n};
}

inline std::vector<std::string> long_job_types(std::size_t n) {
    auto names = short_job_types(n);
    for (auto& name : names) name = "acme.jobs." + name;  // 16..23 bytes
    return names;
}

// Wall and process CPU time (all threads) around a benchmark's loop, reported
// per job: ns_per_job (wall) and cpu_ns_per_job (every thread's CPU, spinning
// included), next to Google Benchmark's items_per_second.
class PerJob {
public:
    explicit PerJob(benchmark::State& state) : state_(state) {}
    void start() noexcept {
        wall_ = now(CLOCK_MONOTONIC);
        cpu_ = now(CLOCK_PROCESS_CPUTIME_ID);
    }
    void stop(std::int64_t jobs) {
        double wall = now(CLOCK_MONOTONIC) - wall_;
        double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_;
        state_.SetItemsProcessed(jobs);
        if (jobs <= 0) return;
        state_.counters["ns_per_job"] = wall / static_cast<double>(jobs);
        state_.counters["cpu_ns_per_job"] = cpu / static_cast<double>(jobs);
    }

private:
    static double now(clockid_t clock) noexcept {
        timespec ts{};
        clock_gettime(clock, &ts);
        return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
    }
    benchmark::State& state_;
    double wall_ = 0;
    double cpu_ = 0;
};

}  // namespace seesaw::bench

template <>
struct seesaw::JobTraits<seesaw::bench::SendEmail> {
    static constexpr std::string_view name = "send_email";
    static void encode(const seesaw::bench::SendEmail& job, seesaw::PayloadWriter& out) {
        out.field("to", job.to)
            .field("subject", job.subject)
            .field("template", job.template_name)
            .field("user_id", job.user_id);
    }
    static seesaw::bench::SendEmail decode(const seesaw::PayloadReader& in) {
        return {in.string("to"), in.string("subject"), in.string("template"), in.int64("user_id")};
    }
};

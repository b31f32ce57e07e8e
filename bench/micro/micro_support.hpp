#pragma once
// Shared pieces of the micro-benchmarks: a typical typed job, a claim result
// laid out like a PGresult, a libuv loop on its own thread (the dispatcher's
// shape: other threads reach it only through uv_async_send), and per-job
// wall/CPU counters.

#include <benchmark/benchmark.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
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

// Rows of text cells in one buffer, read through string_views the way
// pg::value() reads a PGresult (PQgetvalue + PQgetlength).
class FakeResult {
public:
    explicit FakeResult(int columns) : columns_(columns) {}

    void add_row(const std::vector<std::string>& cells) {
        if (static_cast<int>(cells.size()) != columns_) throw std::invalid_argument("wrong number of cells");
        for (const auto& cell : cells) {
            offsets_.push_back(text_.size());
            lengths_.push_back(cell.size());
            text_ += cell;
            text_.push_back('\0');
        }
        ++rows_;
    }
    int rows() const noexcept { return rows_; }
    std::string_view value(int row, int column) const noexcept {
        auto cell = static_cast<std::size_t>(row * columns_ + column);
        return {text_.data() + offsets_[cell], lengths_[cell]};
    }
    char* mutable_value(int row, int column) noexcept {
        return text_.data() + offsets_[static_cast<std::size_t>(row * columns_ + column)];
    }

private:
    int columns_;
    int rows_ = 0;
    std::string text_;
    std::vector<std::size_t> offsets_;
    std::vector<std::size_t> lengths_;
};

// A libuv loop on its own thread. on_wake runs (on the loop thread) after
// uv_async_send(wake()); on_kick after kick(). Both coalesce, like the
// dispatcher's wake_ handle. The destructor stops the loop, joins it and
// checks that every handle was closed.
class LoopThread {
public:
    using Callback = std::function<void()>;

    explicit LoopThread(Callback on_wake, Callback on_kick = [] {})
        : on_wake_(std::move(on_wake)), on_kick_(std::move(on_kick)) {
        uv_loop_init(&loop_);
        init(&wake_, [](uv_async_t* h) { static_cast<LoopThread*>(h->data)->on_wake_(); });
        init(&kick_, [](uv_async_t* h) { static_cast<LoopThread*>(h->data)->on_kick_(); });
        init(&stop_, [](uv_async_t* h) {
            auto* self = static_cast<LoopThread*>(h->data);
            for (auto* handle : {&self->wake_, &self->kick_, &self->stop_})
                uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
        });
        // Handles initialised here are handed over with the thread's start.
        thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;
    ~LoopThread() {
        uv_async_send(&stop_);
        thread_.join();
        if (uv_loop_close(&loop_) != 0) std::terminate();  // a handle leaked
    }

    uv_async_t* wake() noexcept { return &wake_; }
    void kick() noexcept { uv_async_send(&kick_); }

private:
    void init(uv_async_t* handle, uv_async_cb cb) {
        uv_async_init(&loop_, handle, cb);
        handle->data = this;
    }

    Callback on_wake_;
    Callback on_kick_;
    uv_loop_t loop_{};
    uv_async_t wake_{};
    uv_async_t kick_{};
    uv_async_t stop_{};
    std::thread thread_;
};

// Tells a waiting thread how many items are done so far (C++20 atomic wait:
// a futex, no lock). The loop calls reach() once per round, not per item, so
// the waiting thread is woken once.
class DoneCounter {
public:
    void reach(std::int64_t total) noexcept {
        done_.store(total, std::memory_order_release);
        done_.notify_one();
    }
    void wait_for(std::int64_t target) const noexcept {
        for (auto seen = done_.load(std::memory_order_acquire); seen < target;
             seen = done_.load(std::memory_order_acquire))
            done_.wait(seen, std::memory_order_acquire);
    }

private:
    std::atomic<std::int64_t> done_{0};
};

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

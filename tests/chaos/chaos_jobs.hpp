#pragma once
// What the chaos test's jobs are and what their handlers do, shared by the
// worker (which runs them) and the producer (which makes them). The driver's
// CLI and psql producers write the same payloads as JSON text.
//
//   chaos_quick {"tag": "api-17", "sleep_ms": 12}    queue default, 0-20 ms
//   chaos_slow  {"tag": "cli-4", "sleep_ms": 730}    queue slow, 100-1000 ms
//   chaos_raw   {"tag": "sql-9", "sleep_ms": 3}      queue default, on_raw
//
// Every payload carries the producer's tag, unique per job: a producer that
// lost its connection mid-enqueue does not know the id (the CLI and psql
// print it only on success), but the checker can still find the row.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "seesaw/seesaw.hpp"

namespace chaos {

struct QuickJob {
    std::string tag;
    std::int64_t sleep_ms = 0;
};

struct SlowJob {
    std::string tag;
    std::int64_t sleep_ms = 0;
};

// Registered with on_raw; the handler decodes it itself, after the run is
// on record, so that a payload that does not decode still leaves a START.
struct RawJob {
    std::string tag;
    std::int64_t sleep_ms = 0;
};

inline constexpr std::string_view slow_queue = "slow";

// What a handler does with a job, decided by its id alone (so every producer
// gets the same mix, and a rerun of the checker can say what was expected).
enum class Plan {
    succeed,
    fail_first_attempt,  // RetryableError on attempt 1, then success
    fail_every_attempt,  // RetryableError until the retries run out: dead letter
    permanent,           // PermanentError at once: dead letter
};

inline std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

inline Plan plan_for(const seesaw::JobId& id) {
    const auto bucket = fnv1a(id.to_string()) % 100;
    if (bucket < 10) return Plan::fail_first_attempt;
    if (bucket < 13) return Plan::fail_every_attempt;
    if (bucket < 16) return Plan::permanent;
    return Plan::succeed;
}

// Microseconds since the Unix epoch, to line ledger lines up with faults.log.
inline std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An append-only ledger: one write() per line on an O_APPEND file, so lines
// of concurrent threads never mix and a SIGKILL cannot tear one. Not fsynced:
// it must outlive the database and the writer, not the machine.
class Ledger {
public:
    explicit Ledger(const std::string& path)
        : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) {
        if (fd_ < 0) throw std::runtime_error("cannot open ledger " + path + ": " + std::strerror(errno));
    }
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;
    ~Ledger() { ::close(fd_); }

    void line(std::string text) const {
        text.push_back('\n');
        ssize_t n;
        do {
            n = ::write(fd_, text.data(), text.size());
        } while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(text.size())) std::abort();  // a torn ledger proves nothing
    }

private:
    int fd_;
};

}  // namespace chaos

template <>
struct seesaw::JobTraits<chaos::QuickJob> {
    static constexpr std::string_view name = "chaos_quick";
    static void encode(const chaos::QuickJob& job, PayloadWriter& out) {
        out.field("tag", job.tag).field("sleep_ms", job.sleep_ms);
    }
    static chaos::QuickJob decode(const PayloadReader& in) { return {in.string("tag"), in.int64("sleep_ms")}; }
};

template <>
struct seesaw::JobTraits<chaos::SlowJob> {
    static constexpr std::string_view name = "chaos_slow";
    static void encode(const chaos::SlowJob& job, PayloadWriter& out) {
        out.field("tag", job.tag).field("sleep_ms", job.sleep_ms);
    }
    static chaos::SlowJob decode(const PayloadReader& in) { return {in.string("tag"), in.int64("sleep_ms")}; }
};

template <>
struct seesaw::JobTraits<chaos::RawJob> {
    static constexpr std::string_view name = "chaos_raw";
    static void encode(const chaos::RawJob& job, PayloadWriter& out) {
        out.field("tag", job.tag).field("sleep_ms", job.sleep_ms);
    }
    static chaos::RawJob decode(const PayloadReader& in) { return {in.string("tag"), in.int64("sleep_ms")}; }
};

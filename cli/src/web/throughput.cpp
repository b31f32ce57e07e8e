#include "throughput.hpp"

#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::web {
namespace {

std::string at_us(const std::string& param) {
    return "('epoch'::timestamptz + " + param + "::int8 * interval '1 microsecond')";
}

}  // namespace

ThroughputSampler::ThroughputSampler(PgJobStore& store, std::chrono::milliseconds interval, std::size_t kept)
    : store_(store), interval_(interval), kept_(kept) {
    const std::string jobs = quote_identifier(store.schema()) + ".jobs";
    // The predicate is idx_jobs_finished's own, so that its range scan serves it.
    count_sql_ = "SELECT queue, count(*) FROM " + jobs +
                 " WHERE status NOT IN ('pending', 'running', 'failed') AND updated_at > " + at_us("$1") +
                 " AND updated_at <= " + at_us("$2") + " GROUP BY queue";
    bound_sql_ = "SELECT (extract(epoch FROM now() - interval '1 second') * 1000000)::int8";
}

ThroughputSampler::~ThroughputSampler() { stop(); }

void ThroughputSampler::start() {
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            sample();
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stopping_; });
        }
    });
}

void ThroughputSampler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::deque<ThroughputSample> ThroughputSampler::snapshot() const {
    std::lock_guard lock(mutex_);
    return samples_;
}

void ThroughputSampler::sample() {
    ThroughputSample s;
    try {
        auto conn = store_.pool().acquire();
        const std::int64_t end_us = conn->execute(bound_sql_).get_int64(0, 0);
        const auto start_us = window_start_us_;
        window_start_us_ = end_us;
        // The first sample (after a start or a failure) only opens a window.
        if (!start_us || *start_us >= end_us) return;
        const auto rows = conn->execute(count_sql_, {Param(std::to_string(*start_us)), Param(std::to_string(end_us))});
        for (std::size_t i = 0; i < rows.rows(); ++i) {
            const auto n = static_cast<std::uint64_t>(rows.get_int64(i, 1));
            s.by_queue[std::string(rows.get(i, 0))] = n;
            s.finished += n;
        }
        s.at = Timestamp(std::chrono::microseconds(end_us));
        s.seconds = static_cast<double>(end_us - *start_us) / 1e6;
        s.ok = true;
    } catch (const std::exception& e) {
        window_start_us_.reset();
        log(LogLevel::debug, std::string("seesaw web: throughput sample failed: ") + e.what());
    }
    std::lock_guard lock(mutex_);
    if (!s.ok) {
        // A gap in the chart, one interval after the last sample (the
        // database's clock could not be read).
        if (samples_.empty()) return;
        s.at = samples_.back().at + std::chrono::duration_cast<std::chrono::microseconds>(interval_);
    }
    samples_.push_back(std::move(s));
    while (samples_.size() > kept_) samples_.pop_front();
}

}  // namespace seesaw::web

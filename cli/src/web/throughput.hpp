#pragma once
// Jobs finished per second, sampled in the background for the overview's
// chart. Every `interval` the sampler counts the jobs that reached a finished
// state (succeeded, dead_letter, cancelled) since its previous sample, per
// queue, by their updated_at: an index range scan of the finished jobs of
// that window (idx_jobs_finished), so its cost follows the throughput, not
// the table's size. Counts are not derived from stats(): retention deleting
// finished jobs would make them go down. The window ends a second before the
// database's now(), so that a transaction that committed late is still
// counted in the next window.
//
//   thread: sampler ──sample()──▶ ring buffer (mutex) ◀──snapshot()── HTTP threads

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "seesaw/core/job.hpp"
#include "seesaw/store/pg_job_store.hpp"

namespace seesaw::web {

struct ThroughputSample {
    Timestamp at{};             // the window's end, by the database's clock
    double seconds = 0;         // the window's length
    bool ok = false;            // false: the database could not be asked (a gap in the chart)
    std::uint64_t finished = 0;                      // all queues
    std::map<std::string, std::uint64_t> by_queue;  // queues that finished jobs
};

class ThroughputSampler {
public:
    ThroughputSampler(PgJobStore& store, std::chrono::milliseconds interval, std::size_t kept);
    ~ThroughputSampler();
    ThroughputSampler(const ThroughputSampler&) = delete;
    ThroughputSampler& operator=(const ThroughputSampler&) = delete;

    void start();
    void stop();

    // The samples kept, oldest first.
    std::deque<ThroughputSample> snapshot() const;
    std::chrono::milliseconds interval() const noexcept { return interval_; }

    // One sample now (the thread's step; tests call it directly).
    void sample();

private:
    PgJobStore& store_;
    const std::chrono::milliseconds interval_;
    const std::size_t kept_;
    std::string count_sql_;
    std::string bound_sql_;

    // The window's start, as the database's µs since the epoch; only the
    // sampling thread (or a test before start()) touches it.
    std::optional<std::int64_t> window_start_us_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<ThroughputSample> samples_;  // guarded by mutex_
    bool stopping_ = false;                 // guarded by mutex_
    std::thread thread_;
};

}  // namespace seesaw::web

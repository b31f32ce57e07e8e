#pragma once
// Dispatcher metrics: counters and histograms fed from the event bus, read in
// code with Dispatcher::metrics() or scraped in Prometheus' text format from
// DispatcherOptions::metrics_listen.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace seesaw {

// One consistent cut: buckets, count and sum cover the same observations
// (count is the sum of the buckets).
struct HistogramSnapshot {
    std::vector<double> bounds;          // upper bounds of the buckets, ascending (+Inf implied)
    std::vector<std::uint64_t> buckets;  // observations per bucket (not cumulative); size bounds + 1
    std::uint64_t count = 0;
    double sum = 0;
};

// One job type on one queue.
struct JobTypeMetrics {
    std::string queue;
    std::string job_type;
    std::uint64_t claimed = 0;    // fast-path jobs included
    std::uint64_t fast_path = 0;  // handed over in memory by an enqueue of this process
    std::uint64_t started = 0;
    std::uint64_t succeeded = 0;
    std::uint64_t retried = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t lease_lost = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t snoozed = 0;
    HistogramSnapshot handler_seconds;  // the handler's run time
};

struct QueueMetrics {
    std::string queue;
    std::uint64_t notifications = 0;
    HistogramSnapshot claim_batch_size;        // jobs per claim statement
    HistogramSnapshot enqueue_to_start_seconds;  // insert (database clock) to handler start
};

// Taken on any thread while the dispatcher runs: each histogram is a
// consistent cut, and counters only grow from one snapshot to the next.
struct MetricsSnapshot {
    std::string worker_id;
    std::vector<JobTypeMetrics> job_types;
    std::vector<QueueMetrics> queues;
    std::map<std::string, std::uint64_t> reconnects;   // per connection: listen, claim, complete
    // Finished jobs this dispatcher deleted as the maintenance leader, per
    // state (succeeded, cancelled, dead_letter), and the periodic jobs it
    // inserted.
    std::map<std::string, std::uint64_t> deleted;
    std::uint64_t periodic_enqueued = 0;
    std::map<std::string, std::uint64_t> disconnects;

    // Totals over job types.
    std::uint64_t total_succeeded() const noexcept;
    std::uint64_t total_retried() const noexcept;
    std::uint64_t total_dead_lettered() const noexcept;
    // The Prometheus text exposition format (version 0.0.4).
    std::string to_prometheus() const;
};

}  // namespace seesaw

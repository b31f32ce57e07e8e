#pragma once
// The metrics registry: every series is created up front (the dispatcher's
// queues × its job types), so event handlers only look up an immutable map
// and bump atomics, on whatever thread published the event (workers, the
// loop). snapshot() may be called from any thread at the same time; what it
// returns is what a reader takes for granted:
//  - each histogram is one consistent cut (Histogram): its buckets, _count
//    and _sum cover the same observations;
//  - counters are bumped with release adds and read with acquire loads in
//    the reverse order of a job's life (finished, then started, then
//    claimed): as long as each event of a job is published after the one
//    before it, no snapshot shows more jobs finished than started, or
//    started than claimed; the same for reconnects and disconnects;
//  - counters never go back from one snapshot to the next.
// On x86 the release adds cost what relaxed ones do.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "seesaw/core/event_bus.hpp"
#include "seesaw/dispatch/metrics.hpp"

namespace seesaw::detail {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Observed by any number of threads without a lock while others take
// snapshots. Two sets of counts (the scheme of Prometheus' Go client):
// observers write to the hot one; a snapshot makes the other one hot, waits
// for the observations already under way in the now cold one to finish,
// reads it, and folds it into the hot one, which then holds everything again.
//
//   observe: begun_and_hot_ += 1 → counts_[hot]: bucket, sum, then finished
//   snapshot: flip the hot bit → wait until cold.finished == begun → read
//             cold → add cold to hot, zero cold
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value) noexcept;
    // A consistent cut; one snapshot at a time (a mutex), any thread.
    HistogramSnapshot snapshot() const;

private:
    struct Counts {
        explicit Counts(std::size_t size);
        std::unique_ptr<std::atomic<std::uint64_t>[]> buckets;  // bounds_.size() + 1
        std::atomic<double> sum{0};
        std::atomic<std::uint64_t> finished{0};  // observations written in full (bumped last)
    };
    static constexpr std::uint64_t hot_bit = std::uint64_t{1} << 63;

    std::vector<double> bounds_;
    // Observers add 1 (observations begun, in the low 63 bits); a snapshot
    // adds hot_bit, which flips the top bit: which of counts_ is hot.
    mutable std::atomic<std::uint64_t> begun_and_hot_{0};
    mutable Counts counts_[2];
    mutable std::mutex snapshot_mutex_;
};

class MetricsRegistry {
public:
    MetricsRegistry(std::string worker_id, const std::vector<std::string>& queues,
                    const std::vector<std::string>& job_types, EventBus& bus);
    MetricsSnapshot snapshot() const;

private:
    struct TypeSeries {
        TypeSeries(std::string q, std::string t, const std::vector<double>& bounds)
            : queue(std::move(q)), job_type(std::move(t)), handler_seconds(bounds) {}
        std::string queue, job_type;
        std::atomic<std::uint64_t> claimed{0}, started{0}, succeeded{0}, retried{0}, dead_lettered{0}, lease_lost{0},
            cancelled{0}, snoozed{0}, fast_path{0};
        Histogram handler_seconds;
    };
    struct QueueSeries {
        QueueSeries(std::string n, const std::vector<double>& batch_bounds, const std::vector<double>& second_bounds)
            : name(std::move(n)), claim_batch_size(batch_bounds), enqueue_to_start_seconds(second_bounds) {}
        std::string name;
        std::atomic<std::uint64_t> notifications{0};
        Histogram claim_batch_size;
        Histogram enqueue_to_start_seconds;
        StringMap<std::unique_ptr<TypeSeries>> types;
    };
    struct ConnectionSeries {
        std::atomic<std::uint64_t> reconnects{0}, disconnects{0};
    };

    TypeSeries* find(std::string_view queue, std::string_view job_type) const noexcept;
    QueueSeries* find_queue(std::string_view queue) const noexcept;

    std::string worker_id_;
    StringMap<std::unique_ptr<QueueSeries>> queues_;
    std::vector<std::string> queue_order_;
    StringMap<std::unique_ptr<ConnectionSeries>> connections_;
    // Retention's deletions per state, and the periodic jobs inserted (loop thread writes).
    std::atomic<std::uint64_t> deleted_succeeded_{0}, deleted_cancelled_{0}, deleted_dead_letter_{0};
    std::atomic<std::uint64_t> periodic_enqueued_{0};
    std::vector<Subscription> subscriptions_;  // last: unsubscribed first
};

}  // namespace seesaw::detail

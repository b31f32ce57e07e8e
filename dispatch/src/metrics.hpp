#pragma once
// The metrics registry: every series is created up front (the dispatcher's
// queues × its job types), so event handlers only look up an immutable map
// and bump atomics, on whatever thread published the event.

#include <atomic>
#include <memory>
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

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value) noexcept;
    HistogramSnapshot snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0};
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
        std::atomic<std::uint64_t> claimed{0}, started{0}, succeeded{0}, retried{0}, dead_lettered{0}, lease_lost{0};
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
    std::vector<Subscription> subscriptions_;  // last: unsubscribed first
};

}  // namespace seesaw::detail

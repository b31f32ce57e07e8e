#include "metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "seesaw/core/events.hpp"

namespace seesaw {

std::uint64_t MetricsSnapshot::total_succeeded() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : job_types) n += t.succeeded;
    return n;
}
std::uint64_t MetricsSnapshot::total_retried() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : job_types) n += t.retried;
    return n;
}
std::uint64_t MetricsSnapshot::total_dead_lettered() const noexcept {
    std::uint64_t n = 0;
    for (const auto& t : job_types) n += t.dead_lettered;
    return n;
}

namespace {

// A label value, escaped as the exposition format asks.
std::string label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void histogram(std::string& out, const std::string& name, const std::string& labels, const HistogramSnapshot& h) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        auto le = i < h.bounds.size() ? number(h.bounds[i]) : std::string("+Inf");
        out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_sum{" + labels + "} " + number(h.sum) + "\n";
    out += name + "_count{" + labels + "} " + std::to_string(h.count) + "\n";
}

}  // namespace

std::string MetricsSnapshot::to_prometheus() const {
    std::string out;
    struct Counter {
        const char* name;
        const char* help;
        std::uint64_t JobTypeMetrics::*field;
    };
    static constexpr Counter counters[] = {
        {"seesaw_jobs_claimed_total", "Jobs claimed by this dispatcher (fast-path jobs included).", &JobTypeMetrics::claimed},
        {"seesaw_jobs_fast_path_total", "Jobs an enqueue of this process inserted running and handed over in memory.",
         &JobTypeMetrics::fast_path},
        {"seesaw_jobs_started_total", "Handler runs started.", &JobTypeMetrics::started},
        {"seesaw_jobs_succeeded_total", "Jobs whose success was written.", &JobTypeMetrics::succeeded},
        {"seesaw_jobs_retried_total", "Failed attempts written as failed, waiting for a retry.", &JobTypeMetrics::retried},
        {"seesaw_jobs_dead_lettered_total", "Jobs sent to the dead letter queue.", &JobTypeMetrics::dead_lettered},
        {"seesaw_lease_lost_total", "Runs whose lease was lost (reclaimed or timed out).", &JobTypeMetrics::lease_lost},
        {"seesaw_jobs_cancelled_total", "Jobs cancelled while this dispatcher held them, or by their handler.",
         &JobTypeMetrics::cancelled},
        {"seesaw_jobs_snoozed_total", "Runs that snoozed (the job runs again later, not counted as a failure).",
         &JobTypeMetrics::snoozed},
    };
    for (const auto& c : counters) {
        header(out, c.name, "counter", c.help);
        for (const auto& t : job_types) {
            out += std::string(c.name) + "{queue=\"" + label(t.queue) + "\",job_type=\"" + label(t.job_type) +
                   "\",worker=\"" + label(worker_id) + "\"} " + std::to_string(t.*c.field) + "\n";
        }
    }
    header(out, "seesaw_handler_duration_seconds", "histogram", "Handler run time.");
    for (const auto& t : job_types) {
        histogram(out, "seesaw_handler_duration_seconds",
                  "queue=\"" + label(t.queue) + "\",job_type=\"" + label(t.job_type) + "\",worker=\"" +
                      label(worker_id) + "\"",
                  t.handler_seconds);
    }
    header(out, "seesaw_notifications_total", "counter", "NOTIFY wake-ups received per queue.");
    for (const auto& q : queues) {
        out += "seesaw_notifications_total{queue=\"" + label(q.queue) + "\",worker=\"" + label(worker_id) + "\"} " +
               std::to_string(q.notifications) + "\n";
    }
    header(out, "seesaw_claim_batch_size", "histogram", "Jobs per claim statement.");
    for (const auto& q : queues) {
        histogram(out, "seesaw_claim_batch_size", "queue=\"" + label(q.queue) + "\",worker=\"" + label(worker_id) + "\"",
                  q.claim_batch_size);
    }
    header(out, "seesaw_enqueue_to_start_seconds", "histogram",
           "From the job's insert (database clock) to its handler's start (this host's clock).");
    for (const auto& q : queues) {
        histogram(out, "seesaw_enqueue_to_start_seconds",
                  "queue=\"" + label(q.queue) + "\",worker=\"" + label(worker_id) + "\"", q.enqueue_to_start_seconds);
    }
    header(out, "seesaw_jobs_deleted_total", "counter",
           "Finished jobs deleted by retention while this dispatcher was the maintenance leader.");
    for (const auto& [state, n] : deleted) {
        out += "seesaw_jobs_deleted_total{state=\"" + label(state) + "\",worker=\"" + label(worker_id) + "\"} " +
               std::to_string(n) + "\n";
    }
    header(out, "seesaw_periodic_jobs_enqueued_total", "counter",
           "Jobs of periodic schedules inserted while this dispatcher was the maintenance leader.");
    out += "seesaw_periodic_jobs_enqueued_total{worker=\"" + label(worker_id) + "\"} " +
           std::to_string(periodic_enqueued) + "\n";
    header(out, "seesaw_reconnects_total", "counter", "Database connections re-established after a loss.");
    for (const auto& [connection, n] : reconnects) {
        out += "seesaw_reconnects_total{connection=\"" + label(connection) + "\",worker=\"" + label(worker_id) +
               "\"} " + std::to_string(n) + "\n";
    }
    header(out, "seesaw_disconnects_total", "counter", "Database connections lost.");
    for (const auto& [connection, n] : disconnects) {
        out += "seesaw_disconnects_total{connection=\"" + label(connection) + "\",worker=\"" + label(worker_id) +
               "\"} " + std::to_string(n) + "\n";
    }
    return out;
}

namespace detail {

Histogram::Counts::Counts(std::size_t size) : buckets(new std::atomic<std::uint64_t>[size]) {
    for (std::size_t i = 0; i < size; ++i) buckets[i].store(0, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_{Counts(bounds_.size() + 1), Counts(bounds_.size() + 1)} {}

void Histogram::observe(double value) noexcept {
    auto at = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    // Acquire: a snapshot zeroed this set before it made it hot again.
    const auto begun = begun_and_hot_.fetch_add(1, std::memory_order_acquire);
    auto& hot = counts_[begun >> 63];
    hot.buckets[at].fetch_add(1, std::memory_order_relaxed);
    hot.sum.fetch_add(value, std::memory_order_relaxed);
    hot.finished.fetch_add(1, std::memory_order_release);  // publishes the two adds above
}

HistogramSnapshot Histogram::snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    const auto before = begun_and_hot_.fetch_add(hot_bit, std::memory_order_acq_rel);
    const auto begun = before & ~hot_bit;
    auto& cold = counts_[before >> 63];
    auto& hot = counts_[(before >> 63) ^ 1];
    // Observers that took the cold set before the flip finish in a few
    // instructions (unless the scheduler parks one).
    while (cold.finished.load(std::memory_order_acquire) != begun) std::this_thread::yield();

    HistogramSnapshot s;
    s.bounds = bounds_;
    s.buckets.reserve(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        const auto n = cold.buckets[i].exchange(0, std::memory_order_relaxed);
        s.buckets.push_back(n);
        hot.buckets[i].fetch_add(n, std::memory_order_relaxed);
    }
    s.count = begun;
    s.sum = cold.sum.exchange(0, std::memory_order_relaxed);
    hot.sum.fetch_add(s.sum, std::memory_order_relaxed);
    hot.finished.fetch_add(cold.finished.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
    return s;
}

namespace {
const std::vector<double> seconds_buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10,
                                             30,     60,      300};
const std::vector<double> batch_buckets = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

double seconds_between(Timestamp earlier, std::chrono::system_clock::time_point later) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(later.time_since_epoch()).count() -
              earlier.time_since_epoch().count();
    return static_cast<double>(std::max<std::int64_t>(0, us)) / 1e6;
}
}  // namespace

MetricsRegistry::MetricsRegistry(std::string worker_id, const std::vector<std::string>& queues,
                                 const std::vector<std::string>& job_types, EventBus& bus)
    : worker_id_(std::move(worker_id)), queue_order_(queues) {
    for (const auto& q : queues) {
        auto series = std::make_unique<QueueSeries>(q, batch_buckets, seconds_buckets);
        for (const auto& t : job_types) series->types.emplace(t, std::make_unique<TypeSeries>(q, t, seconds_buckets));
        queues_.emplace(q, std::move(series));
    }
    for (const char* c : {"listen", "claim", "complete"}) connections_.emplace(c, std::make_unique<ConnectionSeries>());

    auto count = [this](const JobRef& job, std::atomic<std::uint64_t> TypeSeries::*field) {
        if (auto* s = find(job.queue, job.job_type)) (s->*field).fetch_add(1, std::memory_order_release);
    };
    subscriptions_.push_back(bus.subscribe<JobClaimed>([count](const JobClaimed& e) {
        count(e.job, &TypeSeries::claimed);
        if (e.fast_path) count(e.job, &TypeSeries::fast_path);
    }));
    subscriptions_.push_back(bus.subscribe<JobStarted>([this, count](const JobStarted& e) {
        count(e.job, &TypeSeries::started);
        if (auto* q = find_queue(e.job.queue))
            q->enqueue_to_start_seconds.observe(seconds_between(e.created_at, std::chrono::system_clock::now()));
    }));
    subscriptions_.push_back(bus.subscribe<JobSucceeded>([this, count](const JobSucceeded& e) {
        count(e.job, &TypeSeries::succeeded);
        if (auto* s = find(e.job.queue, e.job.job_type))
            s->handler_seconds.observe(std::chrono::duration<double>(e.duration).count());
    }));
    subscriptions_.push_back(bus.subscribe<JobRetried>([this, count](const JobRetried& e) {
        count(e.job, &TypeSeries::retried);
        if (auto* s = find(e.job.queue, e.job.job_type))
            s->handler_seconds.observe(std::chrono::duration<double>(e.duration).count());
    }));
    subscriptions_.push_back(bus.subscribe<JobDeadLettered>([this, count](const JobDeadLettered& e) {
        count(e.job, &TypeSeries::dead_lettered);
        if (auto* s = find(e.job.queue, e.job.job_type))
            s->handler_seconds.observe(std::chrono::duration<double>(e.duration).count());
    }));
    subscriptions_.push_back(bus.subscribe<LeaseLost>([count](const LeaseLost& e) { count(e.job, &TypeSeries::lease_lost); }));
    subscriptions_.push_back(bus.subscribe<JobCancelled>([count](const JobCancelled& e) { count(e.job, &TypeSeries::cancelled); }));
    subscriptions_.push_back(bus.subscribe<JobSnoozed>([count](const JobSnoozed& e) { count(e.job, &TypeSeries::snoozed); }));
    subscriptions_.push_back(bus.subscribe<NotificationReceived>([this](const NotificationReceived& e) {
        if (auto* q = find_queue(e.queue)) q->notifications.fetch_add(1, std::memory_order_relaxed);
    }));
    subscriptions_.push_back(bus.subscribe<ClaimFinished>([this](const ClaimFinished& e) {
        if (auto* q = find_queue(e.queue)) q->claim_batch_size.observe(static_cast<double>(e.claimed));
    }));
    subscriptions_.push_back(bus.subscribe<JobsDeleted>([this](const JobsDeleted& e) {
        auto& counter = e.status == JobStatus::succeeded   ? deleted_succeeded_
                        : e.status == JobStatus::cancelled ? deleted_cancelled_
                                                           : deleted_dead_letter_;
        counter.fetch_add(e.count, std::memory_order_relaxed);
    }));
    subscriptions_.push_back(bus.subscribe<PeriodicJobEnqueued>(
        [this](const PeriodicJobEnqueued&) { periodic_enqueued_.fetch_add(1, std::memory_order_relaxed); }));
    subscriptions_.push_back(bus.subscribe<Reconnected>([this](const Reconnected& e) {
        if (auto it = connections_.find(e.connection); it != connections_.end())
            it->second->reconnects.fetch_add(1, std::memory_order_release);
    }));
    subscriptions_.push_back(bus.subscribe<Disconnected>([this](const Disconnected& e) {
        if (auto it = connections_.find(e.connection); it != connections_.end())
            it->second->disconnects.fetch_add(1, std::memory_order_release);
    }));
}

MetricsRegistry::QueueSeries* MetricsRegistry::find_queue(std::string_view queue) const noexcept {
    auto it = queues_.find(queue);
    return it == queues_.end() ? nullptr : it->second.get();
}

MetricsRegistry::TypeSeries* MetricsRegistry::find(std::string_view queue, std::string_view job_type) const noexcept {
    auto* q = find_queue(queue);
    if (q == nullptr) return nullptr;
    auto it = q->types.find(job_type);
    return it == q->types.end() ? nullptr : it->second.get();
}

MetricsSnapshot MetricsRegistry::snapshot() const {
    MetricsSnapshot out;
    out.worker_id = worker_id_;
    for (const auto& name : queue_order_) {
        const auto& q = *queues_.find(name)->second;
        out.queues.push_back(QueueMetrics{q.name, q.notifications.load(std::memory_order_relaxed),
                                          q.claim_batch_size.snapshot(), q.enqueue_to_start_seconds.snapshot()});
        std::vector<const TypeSeries*> types;
        for (const auto& [t, s] : q.types) types.push_back(s.get());
        std::sort(types.begin(), types.end(), [](auto* a, auto* b) { return a->job_type < b->job_type; });
        for (const auto* s : types) {
            // The reverse of a job's life (see the top of metrics.hpp).
            JobTypeMetrics m;
            m.queue = s->queue;
            m.job_type = s->job_type;
            m.succeeded = s->succeeded.load(std::memory_order_acquire);
            m.retried = s->retried.load(std::memory_order_acquire);
            m.dead_lettered = s->dead_lettered.load(std::memory_order_acquire);
            m.lease_lost = s->lease_lost.load(std::memory_order_acquire);
            m.cancelled = s->cancelled.load(std::memory_order_acquire);
            m.snoozed = s->snoozed.load(std::memory_order_acquire);
            m.started = s->started.load(std::memory_order_acquire);
            m.claimed = s->claimed.load(std::memory_order_acquire);
            m.fast_path = s->fast_path.load(std::memory_order_acquire);
            m.handler_seconds = s->handler_seconds.snapshot();
            out.job_types.push_back(std::move(m));
        }
    }
    out.deleted["succeeded"] = deleted_succeeded_.load(std::memory_order_relaxed);
    out.deleted["cancelled"] = deleted_cancelled_.load(std::memory_order_relaxed);
    out.deleted["dead_letter"] = deleted_dead_letter_.load(std::memory_order_relaxed);
    out.periodic_enqueued = periodic_enqueued_.load(std::memory_order_relaxed);
    for (const auto& [name, c] : connections_) {
        out.reconnects[name] = c->reconnects.load(std::memory_order_acquire);
        out.disconnects[name] = c->disconnects.load(std::memory_order_acquire);
    }
    return out;
}

}  // namespace detail
}  // namespace seesaw

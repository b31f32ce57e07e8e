#include "metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "seesaw/core/event_bus.hpp"
#include "seesaw/core/events.hpp"

namespace seesaw::detail {
namespace {

using namespace std::chrono_literals;

// What a Prometheus server, or a user reading Dispatcher::metrics(), takes
// for granted in any one snapshot. Empty: all hold.
std::string inconsistency(const MetricsSnapshot& s) {
    auto histogram = [](const std::string& what, const HistogramSnapshot& h) -> std::string {
        const auto in_buckets = std::accumulate(h.buckets.begin(), h.buckets.end(), std::uint64_t{0});
        if (in_buckets != h.count)
            return what + ": the +Inf bucket holds " + std::to_string(in_buckets) + " but _count is " +
                   std::to_string(h.count);
        return {};
    };
    for (const auto& t : s.job_types) {
        const std::string what = t.queue + "/" + t.job_type;
        if (auto e = histogram(what + " handler_seconds", t.handler_seconds); !e.empty()) return e;
        // Every observation here is 0.5 s: sums of halves are exact.
        if (t.handler_seconds.sum != 0.5 * static_cast<double>(t.handler_seconds.count))
            return what + " handler_seconds: _sum " + std::to_string(t.handler_seconds.sum) + " for _count " +
                   std::to_string(t.handler_seconds.count) + " observations of 0.5";
        const auto finished = t.succeeded + t.retried + t.dead_lettered;
        if (finished > t.started)
            return what + ": " + std::to_string(finished) + " finished but " + std::to_string(t.started) + " started";
        if (t.started > t.claimed)
            return what + ": " + std::to_string(t.started) + " started but " + std::to_string(t.claimed) + " claimed";
    }
    for (const auto& q : s.queues) {
        if (auto e = histogram(q.queue + " claim_batch_size", q.claim_batch_size); !e.empty()) return e;
        if (q.claim_batch_size.sum != 2.0 * static_cast<double>(q.claim_batch_size.count))
            return q.queue + " claim_batch_size: _sum " + std::to_string(q.claim_batch_size.sum) + " for _count " +
                   std::to_string(q.claim_batch_size.count) + " claims of 2";
        if (auto e = histogram(q.queue + " enqueue_to_start_seconds", q.enqueue_to_start_seconds); !e.empty()) return e;
    }
    for (const auto& [connection, reconnects] : s.reconnects) {
        auto lost = s.disconnects.find(connection);
        if (lost == s.disconnects.end() || reconnects > lost->second)
            return connection + ": more reconnects than disconnects";
    }
    return {};
}

// Counters only grow: each one at least what an earlier snapshot showed.
std::string went_back(const MetricsSnapshot& earlier, const MetricsSnapshot& later) {
    for (std::size_t i = 0; i < later.job_types.size(); ++i) {
        const auto& a = earlier.job_types[i];
        const auto& b = later.job_types[i];
        if (b.claimed < a.claimed || b.started < a.started || b.succeeded < a.succeeded || b.retried < a.retried ||
            b.dead_lettered < a.dead_lettered || b.handler_seconds.count < a.handler_seconds.count)
            return a.queue + "/" + a.job_type + ": a counter went back";
    }
    for (std::size_t i = 0; i < later.queues.size(); ++i) {
        if (later.queues[i].notifications < earlier.queues[i].notifications ||
            later.queues[i].claim_batch_size.count < earlier.queues[i].claim_batch_size.count)
            return later.queues[i].queue + ": a counter went back";
    }
    return {};
}

// Workers and the loop publish (and so count) while other threads take
// snapshots: every snapshot must be one a reader can trust, and nothing may
// race (this test runs under ThreadSanitizer in the --tsan suite).
TEST(MetricsRegistry, SnapshotsTakenWhileThreadsCountAreConsistent) {
    EventBus bus;
    const std::vector<std::string> queues = {"default", "mail"};
    const std::vector<std::string> types = {"send_email", "resize_image"};
    MetricsRegistry registry("worker-1", queues, types, bus);

    constexpr int publishers = 4;
    constexpr int jobs_per_publisher = 20000;
    std::atomic<int> running{publishers};
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < jobs_per_publisher; ++i) {
                const JobRef job{JobId{}, types[static_cast<std::size_t>(i) % types.size()],
                                 queues[static_cast<std::size_t>(p) % queues.size()], 1};
                bus.publish(NotificationReceived{job.queue});
                bus.publish(ClaimFinished{job.queue, 4, 2});
                bus.publish(JobClaimed{job});
                bus.publish(JobStarted{job, Timestamp(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch() - 3ms)),
                                       {}});
                switch (i % 3) {
                    case 0: bus.publish(JobSucceeded{job, 500ms}); break;
                    case 1: bus.publish(JobRetried{job, "try again", 1s, 500ms}); break;
                    default: bus.publish(JobDeadLettered{job, "never", 500ms}); break;
                }
                if (i % 100 == 0) {
                    bus.publish(Disconnected{"claim", "server closed the connection"});
                    bus.publish(Reconnected{"claim", 1, 5ms});
                }
            }
            --running;
        });
    }

    std::mutex problems_mutex;
    std::vector<std::string> problems;
    std::atomic<int> snapshots{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
        readers.emplace_back([&] {
            MetricsSnapshot previous = registry.snapshot();
            // At least one snapshot after the publishers are done.
            for (bool last = false; !last;) {
                last = running.load() == 0;
                MetricsSnapshot s = registry.snapshot();
                ++snapshots;
                auto problem = inconsistency(s);
                if (problem.empty()) problem = went_back(previous, s);
                if (!problem.empty()) {
                    std::lock_guard lock(problems_mutex);
                    problems.push_back(problem);
                    return;
                }
                previous = std::move(s);
            }
        });
    }
    for (auto& t : threads) t.join();
    for (auto& t : readers) t.join();
    EXPECT_TRUE(problems.empty()) << problems.front() << " (in one of " << snapshots.load() << " snapshots)";

    // And once everyone is done, every event is counted.
    const auto s = registry.snapshot();
    EXPECT_EQ(inconsistency(s), "");
    constexpr auto jobs = static_cast<std::uint64_t>(publishers) * jobs_per_publisher;
    std::uint64_t claimed = 0, started = 0, finished = 0, observed = 0;
    for (const auto& t : s.job_types) {
        claimed += t.claimed;
        started += t.started;
        finished += t.succeeded + t.retried + t.dead_lettered;
        observed += t.handler_seconds.count;
    }
    EXPECT_EQ(claimed, jobs);
    EXPECT_EQ(started, jobs);
    EXPECT_EQ(finished, jobs);
    EXPECT_EQ(observed, jobs);
    EXPECT_EQ(s.total_succeeded() + s.total_retried() + s.total_dead_lettered(), jobs);
    std::uint64_t notifications = 0, claims = 0, starts = 0;
    for (const auto& q : s.queues) {
        notifications += q.notifications;
        claims += q.claim_batch_size.count;
        starts += q.enqueue_to_start_seconds.count;
    }
    EXPECT_EQ(notifications, jobs);
    EXPECT_EQ(claims, jobs);
    EXPECT_EQ(starts, jobs);
    EXPECT_EQ(s.reconnects.at("claim"), static_cast<std::uint64_t>(publishers) * (jobs_per_publisher / 100));
    EXPECT_EQ(s.disconnects.at("claim"), s.reconnects.at("claim"));
}

TEST(Histogram, CountsEachObservationInItsBucket) {
    Histogram h({1, 2, 4});
    for (double v : {0.5, 1.0, 1.5, 3.0, 4.0, 100.0}) h.observe(v);
    const auto s = h.snapshot();
    EXPECT_EQ(s.bounds, (std::vector<double>{1, 2, 4}));
    EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{2, 1, 2, 1})) << "le is inclusive; the last bucket is +Inf";
    EXPECT_EQ(s.count, 6u);
    EXPECT_DOUBLE_EQ(s.sum, 110.0);
    // A snapshot takes nothing away.
    h.observe(2.0);
    const auto again = h.snapshot();
    EXPECT_EQ(again.buckets, (std::vector<std::uint64_t>{2, 2, 2, 1}));
    EXPECT_EQ(again.count, 7u);
    EXPECT_DOUBLE_EQ(again.sum, 112.0);
}

}  // namespace
}  // namespace seesaw::detail

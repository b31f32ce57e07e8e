#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../log_capture.hpp"
#include "seesaw/core/event_bus.hpp"
#include "seesaw/core/events.hpp"

namespace seesaw {
namespace {

struct Ping {
    int n = 0;
};
struct Pong {
    std::string text;
};

TEST(EventBus, DeliversToSubscribersOfTheTypeInSubscriptionOrder) {
    EventBus bus;
    std::vector<std::string> seen;
    auto a = bus.subscribe<Ping>([&](const Ping& p) { seen.push_back("a" + std::to_string(p.n)); });
    auto b = bus.subscribe<Ping>([&](const Ping& p) { seen.push_back("b" + std::to_string(p.n)); });
    auto c = bus.subscribe<Pong>([&](const Pong& p) { seen.push_back("pong " + p.text); });
    bus.publish(Ping{1});
    bus.publish(Pong{"x"});
    bus.publish(Ping{2});
    EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b1", "pong x", "a2", "b2"}));
}

TEST(EventBus, PublishingWithoutSubscribersDoesNothing) {
    EventBus bus;
    EXPECT_FALSE(bus.has_subscribers<Ping>());
    bus.publish(Ping{1});
    int calls = 0;
    auto sub = bus.subscribe<Pong>([&](const Pong&) { ++calls; });
    bus.publish(Ping{2});
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(bus.has_subscribers<Ping>());
    EXPECT_TRUE(bus.has_subscribers<Pong>());
}

TEST(EventBus, DestroyingTheSubscriptionUnsubscribes) {
    EventBus bus;
    int a_calls = 0, b_calls = 0;
    auto b = bus.subscribe<Ping>([&](const Ping&) { ++b_calls; });
    {
        auto a = bus.subscribe<Ping>([&](const Ping&) { ++a_calls; });
        bus.publish(Ping{});
    }
    bus.publish(Ping{});
    EXPECT_EQ(a_calls, 1);
    EXPECT_EQ(b_calls, 2);
    b.reset();
    bus.publish(Ping{});
    EXPECT_EQ(b_calls, 2);
    EXPECT_FALSE(bus.has_subscribers<Ping>());
}

TEST(EventBus, MovedSubscriptionKeepsTheHandlerUntilTheNewOwnerGoes) {
    EventBus bus;
    int calls = 0;
    std::optional<Subscription> kept;
    {
        auto sub = bus.subscribe<Ping>([&](const Ping&) { ++calls; });
        kept.emplace(std::move(sub));
    }  // the moved-from subscription is destroyed: nothing happens
    bus.publish(Ping{});
    EXPECT_EQ(calls, 1);

    Subscription other = bus.subscribe<Ping>([&](const Ping&) { calls += 10; });
    other = std::move(*kept);  // drops the +10 handler, takes over the +1 one
    bus.publish(Ping{});
    EXPECT_EQ(calls, 2);
    kept.reset();
    bus.publish(Ping{});
    EXPECT_EQ(calls, 3);
    other.reset();
    bus.publish(Ping{});
    EXPECT_EQ(calls, 3);
}

TEST(EventBus, AHandlerMayUnsubscribeItselfInsideItsCallback) {
    EventBus bus;
    int calls = 0;
    std::optional<Subscription> self;
    self.emplace(bus.subscribe<Ping>([&](const Ping&) {
        ++calls;
        self.reset();  // destroys the subscription whose handler is running
    }));
    int other_calls = 0;
    auto other = bus.subscribe<Ping>([&](const Ping&) { ++other_calls; });
    bus.publish(Ping{});
    bus.publish(Ping{});
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(other_calls, 2);
}

TEST(EventBus, AHandlerMaySubscribeAnotherInsideItsCallback) {
    EventBus bus;
    std::vector<Subscription> added;
    int late_calls = 0;
    auto first = bus.subscribe<Ping>([&](const Ping&) {
        if (added.empty()) added.push_back(bus.subscribe<Ping>([&](const Ping&) { ++late_calls; }));
    });
    bus.publish(Ping{});
    bus.publish(Ping{});
    EXPECT_EQ(late_calls, 1);  // not called by the publish that added it
}

TEST(EventBus, SubscriptionOutlivingTheBusIsHarmless) {
    std::optional<EventBus> bus(std::in_place);
    int calls = 0;
    auto sub = bus->subscribe<Ping>([&](const Ping&) { ++calls; });
    bus->publish(Ping{});
    bus.reset();
    sub.reset();  // must not touch the destroyed bus
    EXPECT_EQ(calls, 1);
}

TEST(EventBus, DispatcherEventsCarryTheirFields) {
    EventBus bus;
    std::string seen;
    auto sub = bus.subscribe<JobRetried>([&](const JobRetried& e) {
        seen = std::string(e.job.job_type) + "#" + std::to_string(e.job.attempt) + " " + std::string(e.error) +
               " in " + std::to_string(e.delay.count()) + "ms";
    });
    JobRetried event;
    event.job.job_type = "send_email";
    event.job.attempt = 2;
    event.error = "smtp down";
    event.delay = std::chrono::milliseconds(1500);
    bus.publish(event);
    EXPECT_EQ(seen, "send_email#2 smtp down in 1500ms");
}

TEST(EventBus, ConcurrentPublishersAndSubscribers) {
    EventBus bus;
    std::atomic<long> delivered{0};
    auto counting = bus.subscribe<Ping>([&](const Ping& p) { delivered += p.n; });
    std::atomic<bool> stop{false};
    std::thread churn([&] {
        // Subscribes and unsubscribes while others publish.
        while (!stop.load()) {
            auto temporary = bus.subscribe<Ping>([](const Ping&) {});
        }
    });
    std::vector<std::thread> publishers;
    for (int t = 0; t < 4; ++t) {
        publishers.emplace_back([&] {
            for (int i = 0; i < 20'000; ++i) bus.publish(Ping{1});
        });
    }
    for (auto& p : publishers) p.join();
    stop = true;
    churn.join();
    EXPECT_EQ(delivered.load(), 4 * 20'000);
}


TEST(EventBus, AThrowingSubscriberIsLoggedAndTheOthersStillRun) {
    test::LogCapture log;
    EventBus bus;
    std::vector<std::string> seen;
    auto a = bus.subscribe<Ping>([&](const Ping&) { seen.push_back("a"); });
    auto b = bus.subscribe<Ping>([&](const Ping&) -> void { throw std::runtime_error("the dashboard is down"); });
    auto c = bus.subscribe<Ping>([&](const Ping&) { seen.push_back("c"); });
    auto d = bus.subscribe<Ping>([&](const Ping&) -> void { throw 42; });  // not even a std::exception
    auto e = bus.subscribe<Ping>([&](const Ping&) { seen.push_back("e"); });

    EXPECT_NO_THROW(bus.publish(Ping{1})) << "the publisher never sees a subscriber's exception";
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "c", "e"}));
    EXPECT_EQ(log.count(LogLevel::error, "the dashboard is down"), 1u);
    EXPECT_EQ(log.count(LogLevel::error, "unknown exception"), 1u);
}

TEST(EventBus, AThrowingSubscriberDoesNotEndAPublishingWorkerThread) {
    test::LogCapture log;
    EventBus bus;
    std::atomic<int> after{0};
    auto thrower =
        bus.subscribe<JobSucceeded>([](const JobSucceeded&) -> void { throw std::logic_error("bug in a metrics sink"); });
    auto counter = bus.subscribe<JobSucceeded>([&](const JobSucceeded&) { ++after; });
    // An exception leaving a thread's function ends the process; the bus must
    // not let one out.
    std::thread worker([&] {
        for (int i = 0; i < 3; ++i) bus.publish(JobSucceeded{});
    });
    worker.join();
    EXPECT_EQ(after.load(), 3);
    EXPECT_EQ(log.count(LogLevel::error, "bug in a metrics sink"), 3u);
}

}  // namespace
}  // namespace seesaw

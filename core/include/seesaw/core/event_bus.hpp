#pragma once
// An in-process event bus: subscribers register per event type; publish calls
// them on the publishing thread, in subscription order, so they must be cheap.
// Publishing an event type nobody subscribed to costs one atomic load. A
// subscriber that throws is logged and skipped: the others still run, and the
// publisher (often a worker thread or the dispatcher's loop) never sees it.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace seesaw {

class EventBus;

// Unsubscribes when destroyed (or on reset()). Move-only.
class [[nodiscard]] Subscription {
public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();
    void reset() noexcept;

private:
    friend class EventBus;
    Subscription(std::weak_ptr<void> bus_state, std::size_t type, std::uint64_t id)
        : state_(std::move(bus_state)), type_(type), id_(id) {}
    std::weak_ptr<void> state_;
    std::size_t type_ = 0;
    std::uint64_t id_ = 0;
};

namespace detail {
std::size_t next_event_type_index() noexcept;
template <class E>
inline const std::size_t event_type_index = next_event_type_index();

struct EventHandler {
    std::uint64_t id;
    std::function<void(const void*)> call;
};
using EventHandlerList = std::vector<EventHandler>;
}  // namespace detail

class EventBus {
public:
    EventBus();
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    template <class E, class F>
    Subscription subscribe(F&& handler) {
        std::function<void(const E&)> typed(std::forward<F>(handler));
        return add(detail::event_type_index<E>,
                   [typed = std::move(typed)](const void* event) { typed(*static_cast<const E*>(event)); });
    }

    template <class E>
    void publish(const E& event) const noexcept {
        const auto index = detail::event_type_index<E>;
        if (!has_subscribers(index)) return;
        dispatch(index, &event);
    }

    template <class E>
    bool has_subscribers() const noexcept {
        return has_subscribers(detail::event_type_index<E>);
    }

    struct State;

private:
    Subscription add(std::size_t type, std::function<void(const void*)> call);
    bool has_subscribers(std::size_t type) const noexcept;
    void dispatch(std::size_t type, const void* event) const noexcept;

    std::shared_ptr<State> state_;
};

}  // namespace seesaw

#include "seesaw/core/event_bus.hpp"

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "seesaw/core/log.hpp"

namespace seesaw {

// Copy-on-write handler lists: subscribe/unsubscribe (rare) copy the list of
// one event type under the mutex and publish the new one with a release
// store; publish (hot, any thread) loads the current list with an acquire
// load: no lock, no reference count. A list that is replaced may still be in
// use by a publisher, so it is kept until the bus is destroyed (lists are
// small; subscribing is for set-up, not for every request). A handler may
// subscribe or unsubscribe from inside a callback.
struct EventBus::State {
    static constexpr std::size_t max_types = 64;
    std::mutex writer_mutex;    // serializes writers; readers never take it
    std::uint64_t next_id = 1;  // guarded by writer_mutex
    std::atomic<const detail::EventHandlerList*> handlers[max_types] = {};
    std::atomic<bool> any[max_types] = {};
    std::vector<std::unique_ptr<const detail::EventHandlerList>> lists;  // every list made; guarded by writer_mutex

    // Replaces type's list; call with writer_mutex held.
    void publish_list(std::size_t type, std::unique_ptr<detail::EventHandlerList> next) {
        any[type].store(!next->empty(), std::memory_order_release);
        handlers[type].store(next.get(), std::memory_order_release);
        lists.push_back(std::move(next));
    }

    void remove(std::size_t type, std::uint64_t id) {
        std::lock_guard lock(writer_mutex);
        const auto* current = handlers[type].load(std::memory_order_acquire);
        if (current == nullptr) return;
        auto next = std::make_unique<detail::EventHandlerList>();
        for (const auto& h : *current)
            if (h.id != id) next->push_back(h);
        publish_list(type, std::move(next));
    }
};

namespace {

// One subscriber's exception must not reach the publisher (on a worker
// thread it would end the process) nor keep the event from the others.
void subscriber_failed(const char* what) noexcept {
    try {
        log(LogLevel::error, std::string("an event subscriber threw: ") + what +
                                 "; the other subscribers still got the event");
    } catch (...) {
        // The logger itself failed: nothing left to tell.
    }
}

}  // namespace

namespace detail {
std::size_t next_event_type_index() noexcept {
    static std::atomic<std::size_t> counter{0};
    return counter.fetch_add(1);
}
}  // namespace detail

Subscription::Subscription(Subscription&& other) noexcept
    : state_(std::move(other.state_)), type_(other.type_), id_(std::exchange(other.id_, 0)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        state_ = std::move(other.state_);
        type_ = other.type_;
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() noexcept {
    if (id_ == 0) return;
    if (auto state = std::static_pointer_cast<EventBus::State>(state_.lock())) {
        try {
            state->remove(type_, id_);
        } catch (...) {
            // Allocation failed while unsubscribing; the handler stays registered.
        }
    }
    id_ = 0;
    state_.reset();
}

EventBus::EventBus() : state_(std::make_shared<State>()) {}

Subscription EventBus::add(std::size_t type, std::function<void(const void*)> call) {
    if (type >= State::max_types) std::terminate();  // more event types than the bus was built for
    std::lock_guard lock(state_->writer_mutex);
    const auto* current = state_->handlers[type].load(std::memory_order_acquire);
    auto next = current != nullptr ? std::make_unique<detail::EventHandlerList>(*current)
                                   : std::make_unique<detail::EventHandlerList>();
    auto id = state_->next_id++;
    next->push_back({id, std::move(call)});
    state_->publish_list(type, std::move(next));
    return Subscription(std::weak_ptr<void>(state_), type, id);
}

bool EventBus::has_subscribers(std::size_t type) const noexcept {
    return type < State::max_types && state_->any[type].load(std::memory_order_acquire);
}

void EventBus::dispatch(std::size_t type, const void* event) const noexcept {
    const auto* list = state_->handlers[type].load(std::memory_order_acquire);
    if (list == nullptr) return;
    for (const auto& handler : *list) {
        try {
            handler.call(event);
        } catch (const std::exception& e) {
            subscriber_failed(e.what());
        } catch (...) {
            subscriber_failed("unknown exception");
        }
    }
}

}  // namespace seesaw

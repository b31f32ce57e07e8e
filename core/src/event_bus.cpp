#include "seesaw/core/event_bus.hpp"

namespace seesaw {

// Copy-on-write handler lists: subscribe/unsubscribe (rare) copy the list of
// one event type under the mutex and publish the new one atomically; publish
// (hot, any thread) loads the current list without locking. A handler may
// subscribe or unsubscribe from inside a callback.
struct EventBus::State {
    static constexpr std::size_t max_types = 64;
    std::mutex writer_mutex;  // serializes writers; readers never take it
    std::uint64_t next_id = 1;  // guarded by writer_mutex
    std::atomic<std::shared_ptr<const detail::EventHandlerList>> handlers[max_types];
    std::atomic<bool> any[max_types] = {};

    void remove(std::size_t type, std::uint64_t id) {
        std::lock_guard lock(writer_mutex);
        auto current = handlers[type].load();
        if (!current) return;
        auto next = std::make_shared<detail::EventHandlerList>();
        for (const auto& h : *current)
            if (h.id != id) next->push_back(h);
        any[type].store(!next->empty(), std::memory_order_release);
        handlers[type].store(std::move(next));
    }
};

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
    auto current = state_->handlers[type].load();
    auto next = current ? std::make_shared<detail::EventHandlerList>(*current)
                        : std::make_shared<detail::EventHandlerList>();
    auto id = state_->next_id++;
    next->push_back({id, std::move(call)});
    state_->handlers[type].store(std::move(next));
    state_->any[type].store(true, std::memory_order_release);
    return Subscription(std::weak_ptr<void>(state_), type, id);
}

bool EventBus::has_subscribers(std::size_t type) const noexcept {
    return type < State::max_types && state_->any[type].load(std::memory_order_acquire);
}

void EventBus::dispatch(std::size_t type, const void* event) const {
    auto list = state_->handlers[type].load();
    if (!list) return;
    for (const auto& handler : *list) handler.call(event);
}

}  // namespace seesaw

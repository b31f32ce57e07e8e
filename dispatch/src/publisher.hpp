#pragma once
// Publishes the dispatcher's events on its bus, skipping the work when
// nobody listens. Any thread.
#include "seesaw/core/event_bus.hpp"

namespace seesaw::detail {

class Publisher {
public:
    explicit Publisher(EventBus& bus) noexcept : bus_(bus) {}
    template <class E>
    void operator()(const E& event) const {
        if (bus_.has_subscribers<E>()) bus_.publish(event);
    }
    template <class E>
    bool wanted() const noexcept {
        return bus_.has_subscribers<E>();
    }

private:
    EventBus& bus_;
};

}  // namespace seesaw::detail

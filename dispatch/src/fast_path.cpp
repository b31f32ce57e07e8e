#include "fast_path.hpp"

#include "seesaw/core/log.hpp"

namespace seesaw::detail {

FastPath::FastPath(std::string worker_id, std::vector<std::string> queues,
                   std::set<std::string, std::less<>> job_types, std::function<void()> wake)
    : worker_id_(std::move(worker_id)), job_types_(std::move(job_types)), wake_(std::move(wake)) {
    for (auto& name : queues) slots_.push_back(std::make_unique<Slot>(std::move(name)));
}

std::optional<std::size_t> FastPath::reserve(std::string_view queue, std::string_view job_type) noexcept {
    if (!reserving_.load()) return std::nullopt;
    std::size_t index = 0;
    while (index < slots_.size() && slots_[index]->name != queue) ++index;
    if (index == slots_.size() || !job_types_.contains(job_type)) return std::nullopt;
    auto& slot = *slots_[index];
    // Counted in before looking: the loop's claims leave room for it, and a
    // stop (stop_reserving, then outstanding) sees it or it sees the stop.
    if (slot.reserved.fetch_add(1) >= slot.free.load() || !reserving_.load()) {
        slot.reserved.fetch_sub(1);
        return std::nullopt;
    }
    return index;
}

void FastPath::hand_over(FastJob job) noexcept { arrive(Arrival{std::move(job), false}); }

void FastPath::verify(FastJob job) noexcept { arrive(Arrival{std::move(job), true}); }

void FastPath::arrive(Arrival arrival) noexcept {
    std::lock_guard lock(wake_mutex_);
    if (!wake_) {
        log(LogLevel::warn, "dispatcher " + worker_id_ + " stopped before job " + arrival.job.id.to_string() +
                                " reached it; its lease expires and it is reclaimed");
        return;
    }
    try {
        inbox_.enqueue(std::move(arrival));
    } catch (...) {
        return;  // out of memory: the lease expires and the job is reclaimed
    }
    wake_();
}

void FastPath::cancel(std::size_t queue) noexcept {
    slots_[queue]->reserved.fetch_sub(1);
    if (reserving_.load()) return;
    // A stop may be waiting for it.
    std::lock_guard lock(wake_mutex_);
    if (wake_) wake_();
}

void FastPath::set_free(std::size_t queue, std::int64_t free) noexcept { slots_[queue]->free.store(free); }

std::int64_t FastPath::reserved(std::size_t queue) const noexcept { return slots_[queue]->reserved.load(); }

std::int64_t FastPath::outstanding() const noexcept {
    std::int64_t n = 0;
    for (const auto& slot : slots_) n += slot->reserved.load();
    return n;
}

void FastPath::stop_reserving() noexcept {
    reserving_.store(false);
    for (auto& slot : slots_) slot->free.store(0);
}

void FastPath::close() noexcept {
    stop_reserving();
    std::lock_guard lock(wake_mutex_);
    wake_ = nullptr;
}

}  // namespace seesaw::detail

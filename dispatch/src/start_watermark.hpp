#pragma once
// How far a queue's workers have got through the jobs the dispatcher holds
// ahead of them (claimed beyond its free workers). Each such job has a
// ticket, increasing in the order the workers take them. through() is the
// highest ticket such that every held ticket up to it has started, or is no
// longer held (handed back, or its lease lost). The dispatcher records it in
// the database, where lease reclaim reads it: a job whose ticket is above it
// had not started, so its expired lease does not count as a run.
//
// It never claims more than happened: a ticket is passed only once its job
// started or left our hands, so a job it covers either ran or is not ours.
//
// Loop thread only.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace seesaw::detail {

class StartWatermark {
public:
    // Tickets start above `first` (which an earlier process with the same
    // worker id never reached).
    explicit StartWatermark(std::int64_t first) noexcept : first_(first), through_(first) {}

    std::int64_t first() const noexcept { return first_; }

    // A job claimed ahead of the workers, in ticket order.
    void hold(std::int64_t ticket) {
        if (ticket <= through_ || (!held_.empty() && ticket <= held_.back().first)) return;  // out of order: never passed
        held_.emplace_back(ticket, false);
    }

    // Its job started, or is no longer ours. Idempotent.
    void pass(std::int64_t ticket) {
        auto it = std::lower_bound(held_.begin(), held_.end(), ticket,
                                   [](const auto& entry, std::int64_t t) { return entry.first < t; });
        if (it == held_.end() || it->first != ticket) return;
        it->second = true;
        while (!held_.empty() && held_.front().second) {
            through_ = held_.front().first;
            held_.pop_front();
        }
    }

    std::int64_t through() const noexcept { return through_; }
    std::size_t held() const noexcept { return held_.size(); }

    // The value to write now: through() moved past what the database has
    // and no write is in flight.
    std::optional<std::int64_t> to_record() const noexcept {
        if (in_flight_ || through_ <= recorded_) return std::nullopt;
        return through_;
    }
    void recording(std::int64_t value) noexcept { in_flight_ = value; }
    void recorded(bool ok) noexcept {
        if (ok && in_flight_) recorded_ = std::max(recorded_, *in_flight_);
        in_flight_.reset();
    }
    // The database may have lost what was written (a server crash): write
    // it again.
    void forget_recorded() noexcept {
        recorded_ = first_;
        in_flight_.reset();
    }

private:
    const std::int64_t first_;
    std::int64_t through_;
    std::int64_t recorded_ = first_;
    std::optional<std::int64_t> in_flight_;
    std::deque<std::pair<std::int64_t, bool>> held_;  // ticket, passed; in ticket order
};

}  // namespace seesaw::detail

#pragma once
// Periodic jobs: while this dispatcher is the maintenance leader, it
// records its schedules in periodic_schedules and inserts each slot's job
// at the slot's time (a timer set for the earliest next slot, no polling).
// A slot is inserted once whatever the number of leaders: the insert is one
// statement that also moves the schedule's last_slot past the slot before,
// and only if it was earlier (migration 0010). A leader that arrives after
// missed slots inserts the latest of them once (PeriodicEntry::catch_up).
//
// Loop thread only.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loop.hpp"
#include "publisher.hpp"
#include "seesaw/core/job.hpp"
#include "statements.hpp"

namespace seesaw {
struct PeriodicEntry;
}

namespace seesaw::detail {

struct StoreSql;

class Periodic {
public:
    // fenced_out: a write under this term found the term gone (the leader
    // was replaced); it is told once per write.
    Periodic(uv_loop_t* loop, Statements& database, const StoreSql& sql, Publisher publish, std::string worker_id,
             std::vector<const PeriodicEntry*> entries, std::function<void(std::int64_t term)> fenced_out = {});
    Periodic(const Periodic&) = delete;
    Periodic& operator=(const Periodic&) = delete;

    // Leadership won (under `term`, which every write is fenced by) or lost.
    // Winning records every schedule, then catches up and arms the timer.
    void set_leader(bool leader, std::int64_t term = 0);
    // For good: the dispatcher stops.
    void stop() noexcept;

private:
    struct State {
        const PeriodicEntry* entry = nullptr;
        bool registered = false;          // recorded since leadership was won
        std::optional<Timestamp> last;    // the latest slot known inserted
        Timestamp next{};                 // the next slot to insert
    };

    void record(State& state);
    // A fenced answer's first column: false when the term was gone.
    bool still_leading(const PGresult* result, std::int64_t term);
    void insert(State& state, Timestamp slot, bool caught_up);
    void fire();
    void arm();

    Statements& database_;
    const StoreSql& sql_;
    Publisher publish_;
    const std::string worker_id_;
    std::vector<State> states_;
    Timer timer_;
    const std::function<void(std::int64_t term)> fenced_out_;
    bool leader_ = false;
    bool stopped_ = false;
    std::int64_t term_ = 0;  // the leader's, while leading
    // Bumped at every change of leadership: answers to statements of an
    // earlier one are ignored.
    std::uint64_t generation_ = 0;
};

}  // namespace seesaw::detail

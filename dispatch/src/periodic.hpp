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
    Periodic(uv_loop_t* loop, Statements& database, const StoreSql& sql, Publisher publish, std::string worker_id,
             std::vector<const PeriodicEntry*> entries);
    Periodic(const Periodic&) = delete;
    Periodic& operator=(const Periodic&) = delete;

    // Leadership (and with it the connection) won or lost. Winning records
    // every schedule, then catches up and arms the timer.
    void set_leader(bool leader);
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
    void insert(State& state, Timestamp slot, bool caught_up);
    void fire();
    void arm();

    Statements& database_;
    const StoreSql& sql_;
    Publisher publish_;
    const std::string worker_id_;
    std::vector<State> states_;
    Timer timer_;
    bool leader_ = false;
    bool stopped_ = false;
    // Bumped at every change of leadership: answers to statements of an
    // earlier term are ignored.
    std::uint64_t term_ = 0;
};

}  // namespace seesaw::detail

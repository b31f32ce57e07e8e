#pragma once
// Maintenance leadership of a schema: the row 'maintenance' of
// schema.leaders (migration 0012), held by one dispatcher until it expires
// by the server's clock — a row, not a session lock, so that it means the
// same through a pooler in transaction mode. Every renew interval a
// follower tries to take the row (it gets it once it is absent or expired,
// under a new term) and the leader renews it (same term, a new expiry).
//
//               elect → term t                  renewed (term t)
//   follower ─────────────────────▶ leader t ◀────────┐
//      ▲  ▲                           │ │ ────────────┘
//      │  └── refused, or a fenced ───┘ │
//      │      write found t gone        │ its deadline passed unrenewed,
//      └────────────────────────────────┘ or the connection went
//   any ──resign() / stop()──▶ stopped (a leader expires its row at once)
//
// The term is the guarantee: every leader write checks it in the same
// statement (StoreSql's fenced statements), so a leader that was replaced
// (paused past its expiry, say) acts on nothing. The local deadline is a
// courtesy on top: a leader stops acting a margin before its row expires,
// counted from when the last renewal that it saw confirmed was sent.
// While the connection is away it does not act either; the row stays its
// until it expires, and a renewal after a reconnect keeps its term.
//
// Loop thread only.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "loop.hpp"
#include "statements.hpp"

namespace seesaw::detail {

struct StoreSql;

class Leadership {
public:
    struct Settings {
        std::string leader_id;  // the dispatcher's worker id
        std::chrono::milliseconds ttl{};
        std::chrono::milliseconds renew_interval{};  // shorter than ttl (renew_interval_for)
    };
    struct Hooks {
        std::function<void(std::int64_t term)> won;
        std::function<void(std::int64_t term, std::string_view why)> lost;
    };

    // How often to elect or renew: every reclaim tick, and at least
    // timing::leader_renewals_per_ttl times per ttl.
    static std::chrono::milliseconds renew_interval_for(std::chrono::milliseconds reclaim_interval,
                                                        std::chrono::milliseconds ttl);

    Leadership(uv_loop_t* loop, Statements& database, const StoreSql& sql, Settings settings, Hooks hooks);
    Leadership(const Leadership&) = delete;
    Leadership& operator=(const Leadership&) = delete;

    // The connection is ready (elect or renew at once, then every renew
    // interval), or lost (stop acting).
    void set_ready(bool ready);
    // Elect or renew now (the renew timer calls it).
    void tick();
    // A fenced write of `term` found the row not this leader's at that term.
    void fenced_out(std::int64_t term);
    // A clean stop: expires the row if it is ours, so another dispatcher
    // takes over at once, and tries no more. `done` runs once that is
    // answered (at once when nothing was sent).
    void resign(std::function<void()> done = {});
    // Expires the row of `term` (ours), then runs done.
    void send_resign(std::int64_t term, std::function<void()> done);
    // For good, without a word to the database.
    void stop() noexcept;

    // Leading, and before the local deadline.
    bool leading() const noexcept;
    // The term held while leading (0: none).
    std::int64_t term() const noexcept { return leading() ? term_ : 0; }

private:
    void win(std::int64_t term, std::chrono::steady_clock::time_point deadline);
    void step_down(std::string_view why);
    void arm_deadline();

    Statements& database_;
    const StoreSql& sql_;
    const Settings settings_;
    const Hooks hooks_;
    Timer renew_timer_;
    Timer deadline_timer_;
    bool ready_ = false;
    bool stopped_ = false;
    bool in_flight_ = false;
    // resign() came while an election was in flight: its answer decides
    // whether there is a row to expire, then this runs.
    std::function<void()> resign_done_;
    bool leader_ = false;
    // The last term this dispatcher held, kept after it stops acting: the
    // row may still be its own (a renewal then keeps the term).
    std::int64_t term_ = 0;
    std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace seesaw::detail

#include "leadership.hpp"

#include <algorithm>
#include <utility>

#include "pg.hpp"
#include "store_sql.hpp"
#include "timing.hpp"

namespace seesaw::detail {

std::chrono::milliseconds Leadership::renew_interval_for(std::chrono::milliseconds reclaim_interval,
                                                         std::chrono::milliseconds ttl) {
    return std::max(std::chrono::milliseconds(1), std::min(reclaim_interval, ttl / timing::leader_renewals_per_ttl));
}

Leadership::Leadership(uv_loop_t* loop, Statements& database, const StoreSql& sql, Settings settings, Hooks hooks)
    : database_(database), sql_(sql), settings_(std::move(settings)), hooks_(std::move(hooks)) {
    renew_timer_.init(loop, [this] { tick(); }, "leader renew timer");
    deadline_timer_.init(loop, [this] {
        if (leader_) step_down("its row was not renewed in time (by this dispatcher's clock it expires within " +
                               std::to_string((settings_.ttl / timing::leader_margin_divisor).count()) + " ms)");
    }, "leader deadline timer");
}

void Leadership::set_ready(bool ready) {
    if (stopped_) return;
    ready_ = ready;
    if (!ready) {
        renew_timer_.stop();
        step_down("the connection was lost");
        return;
    }
    tick();
    renew_timer_.start(settings_.renew_interval, settings_.renew_interval);
}

void Leadership::tick() {
    if (!ready_ || stopped_ || in_flight_) return;
    const auto sent = std::chrono::steady_clock::now();
    in_flight_ = true;  // before send(): a send that fails answers at once
    database_.send({"", &sql_.elect, {settings_.leader_id, pg::to_text(settings_.ttl.count()), pg::to_text(term_)},
                    {},
                    [this, sent, asked = term_](const PGresult* result, const StatementFailure* failure) {
                        in_flight_ = false;
                        if (stopped_) {
                            // Resigned meanwhile: an election this won must not outlive the stop.
                            auto done = std::move(resign_done_);
                            resign_done_ = nullptr;
                            if (failure == nullptr && PQntuples(result) == 1) {
                                send_resign(pg::to_int<std::int64_t>(pg::value(result, 0, 0)), std::move(done));
                            } else if (done) {
                                done();
                            }
                            return;
                        }
                        if (failure != nullptr) return;  // the deadline says when to give up
                        if (PQntuples(result) == 0) {
                            // Another dispatcher holds the row, or took it
                            // from us: our term is over.
                            if (leader_) step_down("another dispatcher holds the leader row now");
                            if (asked == term_) term_ = 0;
                            return;
                        }
                        const auto term = pg::to_int<std::int64_t>(pg::value(result, 0, 0));
                        const auto deadline = sent + settings_.ttl - settings_.ttl / timing::leader_margin_divisor;
                        if (leader_ && term != term_) step_down("its row expired and was taken again");
                        term_ = term;
                        if (std::chrono::steady_clock::now() >= deadline) {
                            // Confirmed too late to act on: the next renewal (same term) may do better.
                            if (leader_) step_down("the renewal was confirmed only after its deadline");
                            return;
                        }
                        if (leader_) {
                            deadline_ = deadline;
                            arm_deadline();
                            return;
                        }
                        win(term, deadline);
                    }});
}

void Leadership::win(std::int64_t term, std::chrono::steady_clock::time_point deadline) {
    leader_ = true;
    deadline_ = deadline;
    arm_deadline();
    if (hooks_.won) hooks_.won(term);
}

void Leadership::arm_deadline() {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    deadline_timer_.start(std::max(left, std::chrono::milliseconds(0)));
}

void Leadership::step_down(std::string_view why) {
    if (!leader_) return;
    leader_ = false;
    deadline_timer_.stop();
    if (hooks_.lost) hooks_.lost(term_, why);
}

void Leadership::fenced_out(std::int64_t term) {
    if (!leader_ || term != term_) return;
    step_down("a write under term " + std::to_string(term) + " found the leader row not its own (or expired)");
}

void Leadership::resign(std::function<void()> done) {
    const bool was_leader = leader_ && !stopped_;
    step_down("the dispatcher stops");
    stopped_ = true;
    renew_timer_.stop();
    deadline_timer_.stop();
    if (!was_leader && in_flight_ && ready_) {
        resign_done_ = std::move(done);  // the election's answer resigns, if it won
        return;
    }
    if (!was_leader || !ready_) {
        if (done) done();
        return;
    }
    send_resign(term_, std::move(done));
}

void Leadership::send_resign(std::int64_t term, std::function<void()> done) {
    // Statements on one connection run in order: every write it sent as
    // leader is done before the row expires.
    database_.send({"", &sql_.resign, {settings_.leader_id, pg::to_text(term)}, {},
                    [done = std::move(done)](const PGresult*, const StatementFailure*) {
                        if (done) done();
                    }});
}

void Leadership::stop() noexcept {
    stopped_ = true;
    leader_ = false;
    renew_timer_.stop();
    deadline_timer_.stop();
}

bool Leadership::leading() const noexcept { return leader_ && std::chrono::steady_clock::now() < deadline_; }

}  // namespace seesaw::detail

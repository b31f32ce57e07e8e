#include "retention.hpp"

#include <algorithm>

#include "pg.hpp"
#include "seesaw/core/events.hpp"
#include "seesaw/core/log.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

std::chrono::milliseconds sweep_interval(const std::vector<Retention::Period>& periods) {
    std::chrono::milliseconds shortest = std::chrono::minutes(1);
    for (const auto& p : periods) shortest = std::min(shortest, p.age);
    return std::max(shortest, std::chrono::milliseconds(1000));
}

}  // namespace

Retention::Retention(uv_loop_t* loop, Statements& database, const StoreSql& sql, Publisher publish,
                     std::string worker_id, std::vector<Period> periods,
                     std::function<void(std::int64_t term)> fenced_out)
    : database_(database),
      sql_(sql),
      publish_(publish),
      worker_id_(std::move(worker_id)),
      periods_(std::move(periods)),
      interval_(sweep_interval(periods_)),
      fenced_out_(std::move(fenced_out)),
      deleted_(periods_.size(), 0) {
    timer_.init(loop, [this] { sweep(); }, "retention timer");
    pace_timer_.init(loop, [this] { delete_batch(paced_period_); }, "retention pace timer");
}

void Retention::stop_timers() noexcept {
    timer_.stop();
    pace_timer_.stop();
}

void Retention::set_leader(bool leader, std::int64_t term) {
    if (stopped_ || (leader == leader_ && term == term_) || periods_.empty()) return;
    leader_ = leader;
    term_ = leader ? term : 0;
    ++generation_;
    sweeping_ = false;
    stop_timers();
    if (leader_) sweep();
}

void Retention::stop() noexcept {
    stopped_ = true;
    leader_ = false;
    ++generation_;
    stop_timers();
}

void Retention::sweep() {
    if (!leader_ || sweeping_) return;
    sweeping_ = true;
    std::fill(deleted_.begin(), deleted_.end(), 0);
    delete_batch(0);
}

void Retention::delete_batch(std::size_t period) {
    if (period == periods_.size()) {
        finish_sweep();
        return;
    }
    const auto& p = periods_[period];
    const auto started = std::chrono::steady_clock::now();
    database_.send({"", &sql_.leader_cleanup,
                    {std::string(to_string(p.status)), "", pg::to_text(p.age.count()), pg::to_text(batch), worker_id_,
                     pg::to_text(term_)},
                    {false, true, false, false, false, false},
                    [this, period, started, generation = generation_, term = term_](const PGresult* result,
                                                                                  const StatementFailure* failure) {
                        if (generation != generation_) return;
                        if (failure != nullptr) {
                            // Lost with the connection (and leadership), or
                            // refused: the next sweep tries again.
                            if (failure->kind == FailureKind::rejected)
                                log(LogLevel::warn, "dispatcher " + worker_id_ + ": retention could not delete " +
                                                        std::string(to_string(periods_[period].status)) +
                                                        " jobs: " + failure->message);
                            sweeping_ = false;
                            if (leader_) timer_.start(interval_);
                            return;
                        }
                        if (pg::value(result, 0, 0) != "t") {
                            // The term is over: leadership is lost (set_leader
                            // follows); nothing was deleted.
                            sweeping_ = false;
                            if (fenced_out_) fenced_out_(term);
                            return;
                        }
                        const auto n = pg::to_int<std::uint64_t>(pg::value(result, 0, 1));
                        deleted_[period] += n;
                        if (n < static_cast<std::uint64_t>(batch)) {
                            delete_batch(period + 1);
                            return;
                        }
                        // A full batch leaves more: the next one after a
                        // pause twice as long as this one took (the sweep
                        // has about a third of a backend's time).
                        paced_period_ = period;
                        const auto took = std::chrono::ceil<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started);
                        pace_timer_.start(std::max(2 * took, std::chrono::milliseconds(1)));
                    }});
}

void Retention::finish_sweep() {
    sweeping_ = false;
    std::string said;
    for (std::size_t i = 0; i < periods_.size(); ++i) {
        if (deleted_[i] == 0) continue;
        publish_(JobsDeleted{periods_[i].status, deleted_[i]});
        said += (said.empty() ? "" : ", ") + std::to_string(deleted_[i]) + " " +
                std::string(to_string(periods_[i].status));
    }
    if (!said.empty()) {
        log(LogLevel::info, "dispatcher " + worker_id_ + ": retention deleted " + said + " job(s)");
    }
    if (leader_) timer_.start(interval_);
}

}  // namespace seesaw::detail

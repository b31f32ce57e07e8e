#include "periodic.hpp"

#include <algorithm>

#include "enqueue_params.hpp"
#include "pg.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

Timestamp now() { return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now()); }

std::string epoch_us(Timestamp t) { return pg::to_text(t.time_since_epoch().count()); }

// The key that makes a slot's job unique: the schedule's name and the slot.
std::string slot_key(const std::string& name, Timestamp slot) {
    return "periodic:" + name + ":" + format_timestamp(slot);
}

}  // namespace

Periodic::Periodic(uv_loop_t* loop, Statements& database, const StoreSql& sql, Publisher publish,
                   std::string worker_id, std::vector<const PeriodicEntry*> entries,
                   std::function<void(std::int64_t term)> fenced_out)
    : database_(database),
      sql_(sql),
      publish_(publish),
      worker_id_(std::move(worker_id)),
      fenced_out_(std::move(fenced_out)) {
    for (const auto* entry : entries) states_.push_back(State{entry, false, std::nullopt, {}});
    timer_.init(loop, [this] { fire(); }, "periodic timer");
}

void Periodic::set_leader(bool leader, std::int64_t term) {
    if (stopped_ || (leader == leader_ && term == term_)) return;
    leader_ = leader;
    term_ = leader ? term : 0;
    ++generation_;
    timer_.stop();
    for (auto& state : states_) state.registered = false;
    if (!leader_) return;
    for (auto& state : states_) record(state);
}

void Periodic::stop() noexcept {
    stopped_ = true;
    leader_ = false;
    ++generation_;
    timer_.stop();
}

bool Periodic::still_leading(const PGresult* result, std::int64_t term) {
    if (pg::value(result, 0, 0) == "t") return true;
    if (fenced_out_) fenced_out_(term);
    return false;
}

void Periodic::record(State& state) {
    const auto& entry = *state.entry;
    const auto next = entry.schedule.next_after(now());
    database_.send({"", &sql_.periodic_register,
                    {entry.name, entry.schedule.expression(), entry.job_type, entry.queue, epoch_us(next), worker_id_,
                     worker_id_, pg::to_text(term_)},
                    {},
                    [this, &state, generation = generation_, term = term_](const PGresult* result,
                                                                           const StatementFailure* failure) {
                        if (generation != generation_) return;
                        if (failure != nullptr) {
                            // The connection went (and leadership with it) or
                            // the schema is not migrated: said once, here.
                            log(LogLevel::warn, "dispatcher " + worker_id_ + ": could not record schedule '" +
                                                    state.entry->name + "': " + failure->message);
                            return;
                        }
                        if (!still_leading(result, term)) return;
                        state.last = pg::optional_timestamp_us(result, 0, 1);
                        state.registered = true;
                        const auto& schedule = state.entry->schedule;
                        const auto at = now();
                        state.next = schedule.next_after(at);
                        const auto latest = schedule.latest_at_or_before(at);
                        if (state.last && latest && *latest > *state.last) {
                            // The slots after last passed with no leader.
                            if (state.entry->catch_up) {
                                log(LogLevel::info, "dispatcher " + worker_id_ + ": schedule '" + state.entry->name +
                                                        "' missed its slots after " + format_timestamp(*state.last) +
                                                        "; inserting the latest, " + format_timestamp(*latest) +
                                                        ", once");
                                insert(state, *latest, true);
                            } else {
                                log(LogLevel::info, "dispatcher " + worker_id_ + ": schedule '" + state.entry->name +
                                                        "' missed its slots after " + format_timestamp(*state.last) +
                                                        "; skipped (catch_up is off)");
                            }
                        }
                        arm();
                    }});
}

void Periodic::insert(State& state, Timestamp slot, bool caught_up) {
    const auto& entry = *state.entry;
    NewJob job;
    try {
        job = entry.make_job(slot_key(entry.name, slot));
        validate_new_job(job, 0, 1);
    } catch (const std::exception& e) {
        log(LogLevel::error, "dispatcher " + worker_id_ + ": schedule '" + entry.name + "' could not make its job for " +
                                 format_timestamp(slot) + ": " + e.what());
        return;
    }
    const auto next = entry.schedule.next_after(slot);
    database_.send({"", &sql_.periodic_insert,
                    {entry.name, epoch_us(slot), epoch_us(next), worker_id_, job.job_type,
                     std::string(queue_of(job.options)), job.payload, pg::to_text(priority_of(job.options)),
                     pg::to_text(max_retries_of(job.options)), *job.options.unique_key, worker_id_,
                     pg::to_text(term_)},
                    {},
                    [this, &state, slot, caught_up, generation = generation_, term = term_](
                        const PGresult* result, const StatementFailure* failure) {
                        const auto& name = state.entry->name;
                        if (failure != nullptr) {
                            // Not inserted, or in doubt: the next leadership
                            // (after a reconnect) catches up from the table.
                            log(LogLevel::warn, "dispatcher " + worker_id_ + ": schedule '" + name +
                                                    "' could not insert its job for " + format_timestamp(slot) +
                                                    ": " + failure->message);
                            return;
                        }
                        if (!still_leading(result, term)) {
                            log(LogLevel::info, "dispatcher " + worker_id_ + ": schedule '" + name +
                                                    "' did not insert its job for " + format_timestamp(slot) +
                                                    ": term " + std::to_string(term) + " is over");
                            return;
                        }
                        if (generation == generation_) state.last = std::max(state.last.value_or(slot), slot);
                        const bool advanced = pg::value(result, 0, 1) == "t";
                        if (!advanced || PQgetisnull(result, 0, 2)) {
                            log(LogLevel::debug, "dispatcher " + worker_id_ + ": schedule '" + name + "' slot " +
                                                     format_timestamp(slot) + " was inserted already");
                            return;
                        }
                        const auto id = JobId::parse(pg::value(result, 0, 2));
                        log(LogLevel::debug, "dispatcher " + worker_id_ + ": schedule '" + name + "' inserted job " +
                                                 id.to_string() + " for " + format_timestamp(slot));
                        publish_(PeriodicJobEnqueued{name, slot, id, caught_up});
                    }});
}

void Periodic::fire() {
    if (!leader_) return;
    const auto at = now();
    for (auto& state : states_) {
        if (!state.registered || state.next > at) continue;
        // The latest due slot (the timer fires at the slot, or a little after).
        const auto slot = state.entry->schedule.latest_at_or_before(at).value_or(state.next);
        insert(state, slot, false);
        state.next = state.entry->schedule.next_after(slot);
    }
    arm();
}

void Periodic::arm() {
    if (!leader_) return;
    std::optional<Timestamp> earliest;
    for (const auto& state : states_) {
        if (state.registered && (!earliest || state.next < *earliest)) earliest = state.next;
    }
    if (!earliest) return;
    // Round up to the millisecond: a timer never fires before the slot.
    const auto wait = std::max(std::chrono::microseconds(0), *earliest - now());
    timer_.start(std::chrono::ceil<std::chrono::milliseconds>(wait));
}

}  // namespace seesaw::detail

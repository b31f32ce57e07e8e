#pragma once
// The producer: claims due jobs for each queue on the claim connection, as
// many as the queue has room for (its PrefetchPolicy), and hands them to the
// executor. A queue claims when woken: by a notification, by a freed slot
// while there may be more work, by the jittered poll, by a timer set for the
// next scheduled job or retry, and — busy (WakeSwitch) — continuously. It
// runs the wake-up protocol of each queue (arming its listener row, the
// contention probe) and records how far the workers got through the jobs
// held ahead of them (StartWatermark).
//
// Loop thread only.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "publisher.hpp"
#include "queue_state.hpp"
#include "statements.hpp"
#include "task_registry.hpp"

namespace seesaw {
struct HandlerEntry;
}

namespace seesaw::detail {

class Completer;
class Executor;
class FastPath;
struct FastJob;
struct StoreSql;

class Producer {
public:
    struct Settings {
        std::string worker_id;
        std::string schema;
        std::string job_types_literal;  // text[] of the handled types
        std::chrono::milliseconds lease{};
        bool durable_claims = true;
        bool listen = true;
        std::chrono::milliseconds poll_interval{};
        std::chrono::milliseconds busy_poll_interval{};
        FastPath* fast_path = nullptr;  // the in-process fast path, when on
    };
    struct Hooks {
        std::function<const HandlerEntry*(std::string_view job_type)> handler_for;
        std::function<bool()> running;  // false once the dispatcher stops
        std::function<void()> claim_done;  // a claim answered (a stop may wait for it)
    };

    Producer(uv_loop_t* loop, Statements& database, const StoreSql& sql, TaskRegistry& tasks, Executor& executor,
             Completer& completer, Publisher publish, const std::vector<QueueOptions>& queues, Settings settings,
             Hooks hooks);
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    const std::vector<std::unique_ptr<QueueState>>& queues() const noexcept { return queues_; }
    QueueState* find(std::string_view name) const noexcept;

    // The claim connection's session is ready (catch up: claim, arm, write
    // progress again), or lost.
    void set_claiming(bool ready, bool reconnected);
    // The LISTEN connection listens (claim to catch up, arm), or was lost.
    void set_listening(bool ready);

    void wake(QueueState& queue);
    void wake_all();
    // A job or retry of the queue is due in `delay`.
    void due_in(QueueState& queue, std::chrono::milliseconds delay);
    // The fallback poll: every queue claims and looks for its next due job.
    void poll();
    // The rate tick: prefetch, wake-mode decisions, progress records.
    void tick();
    // Workers freed slots: claim where there may be work.
    void claim_where_wanted();

    // What the workers reported, as the loop learns it.
    void started(Task& task);   // a job held ahead of them began
    void returned(Task& task);  // a handler returned, or a job was skipped: its slot is free
    void settled(Task& task);   // retired: started or no longer ours
    // Takes back the queue's jobs no worker has taken yet: each is released
    // to the database (completer, not flushed) or, if it was lost while it
    // waited, retired. Returns how many go back. (A stop, a pause.)
    std::size_t hand_back_unstarted(QueueState& queue);

    // The control channel said the queue was paused or resumed. Paused: no
    // claims, and jobs held but not started go back to the queue.
    void set_paused(std::string_view queue, bool paused);
    // Reads which queues are paused (at each (re)connect and poll: a
    // notification may have been missed).
    void refresh_paused();

    // A job an enqueue of this process inserted running, leased to us (the
    // fast path): it goes to a worker like a claimed one — or, stopping or
    // paused, back to the queue.
    void accept_fast(const FastJob& job);

    // Jobs went back to the queue (reclaim): some may be due soon.
    void look_for_due() noexcept;

    // Stopping: no more claims or timers; producers need not wake us.
    void stop();
    bool claim_in_flight() const noexcept;
    bool claiming() const noexcept { return claiming_; }

private:
    void try_claim(QueueState& queue);
    void on_claimed(QueueState& queue, std::size_t limit, std::size_t free_workers, const PGresult* result);
    void check_next_due(QueueState& queue);
    void arm(QueueState& queue);
    void go_busy(QueueState& queue);
    void act(QueueState& queue, WakeSwitch::Action action);
    void decide_wake_modes(std::int64_t contention);
    void record_progress();
    void release_unknown_claims();
    void apply_pause(QueueState& queue, bool paused);
    // Tells the fast path how many of the queue's workers are free.
    void publish_free(const QueueState& queue);
    bool listening() const noexcept { return settings_.listen && claiming_ && listening_; }

    Statements& database_;
    const StoreSql& sql_;
    TaskRegistry& tasks_;
    Executor& executor_;
    Completer& completer_;
    Publisher publish_;
    const Settings settings_;
    const Hooks hooks_;

    std::vector<std::unique_ptr<QueueState>> queues_;
    bool claiming_ = false;          // the claim connection's session is ready
    bool listening_ = false;         // the LISTEN connection listens
    bool claim_in_doubt_ = false;    // a claim was cut off with the connection: it may have committed
    bool contention_in_flight_ = false;
    std::int64_t last_contention_ = -1;  // producer_contention at the last tick
    std::uint32_t ticks_ = 0;
    bool stopped_ = false;
};

}  // namespace seesaw::detail

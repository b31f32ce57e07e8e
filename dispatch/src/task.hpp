#pragma once
// One claimed run of a job, and its life in the dispatcher.
//
//                started                    returned                  result written
//   waiting ────────────────▶ running ────────────────▶ writing ────────────────────▶ settled
//    │  │                      │    │                    ▲   (cut off or refused: written again)
//    │  │ skipped              │    │ timed out          │ returned
//    │  ▼                      │    ▼                    │
//    │ releasing ─released─▶ settled  timed_out ──────────┘
//    │                       │         │ its failure written
//    │ lease lost            │ lost    ▼
//    ▼                       ▼       running_lost ──returned──▶ settled
//   waiting_lost ──skipped or returned──▶ settled
//
// waiting: in a worker's hand-off queue. running: its handler runs and the
// job is ours. writing: the handler returned; its result waits for (or is
// in) a fenced write — the write settles it, as written or as fenced out
// (the lease was lost). releasing: never started; it is handed back.
// timed_out: its handler runs past its timeout (or the stop's grace); its
// failure is written meanwhile. *_lost: no longer ours; nothing of it will
// be written; it settles when the worker is done with it. A settled task is
// retired. The loop learns of a start only for jobs held ahead of the
// workers (a notice) or when it looks (started_ns), so `returned` and
// `lease lost` may come straight from waiting.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "seesaw/core/job.hpp"
#include "seesaw/core/job_id.hpp"

namespace seesaw {
struct JobRef;
struct HandlerEntry;
}  // namespace seesaw

namespace seesaw::detail {

struct QueueState;

enum class TaskState { waiting, running, writing, releasing, timed_out, waiting_lost, running_lost, settled };
enum class TaskEvent {
    started,     // its handler began (a notice, or seen in started_ns)
    returned,    // its handler returned, whatever the outcome
    skipped,     // a worker took it and did not start it (lost, stopping, or its lease may have run out)
    lease_lost,  // a heartbeat found it is not ours any more
    timed_out,   // its handler ran past its timeout or the stop's grace: its failure is to be written
    written,     // its result, hand-back or timeout failure was written, or fenced out
    dropped,     // shutdown gave up on it
};

std::string_view to_string(TaskState state) noexcept;
std::string_view to_string(TaskEvent event) noexcept;

// The one transition function of a task's life; nullopt: the event cannot
// happen in that state (a bug in the caller).
std::optional<TaskState> next_state(TaskState state, TaskEvent event) noexcept;

// What a worker reports to the loop.
// committed: a handler's transaction committed with the job's success in it
// (written already); fenced: its success fence failed (the lease was lost),
// so it rolled back and nothing of the run was written.
enum class Outcome { succeeded, retryable, permanent, snoozed, cancelled, skipped, committed, fenced };

struct Task {
    // Written by the loop before the hand-off; read-only afterwards.
    std::uint64_t serial = 0;  // unique per claim: the same job may be claimed again while a lost run still runs
    JobId id;
    std::string payload;
    const HandlerEntry* handler = nullptr;
    QueueState* queue = nullptr;
    std::int32_t attempt = 1;
    std::int32_t max_retries = 0;
    std::int32_t version = 1;
    std::int32_t priority = 0;
    std::int32_t snoozes = 0;
    Timestamp run_at{};
    Timestamp created_at{};
    // Claimed ahead of the workers: its place in the queue's StartWatermark.
    // 0: went straight to a free worker (the claim counts as its start).
    std::int64_t ticket = 0;

    // Written by the loop, read by the worker (the handler's ctx.cancelled()).
    std::atomic<bool> cancelled{false};
    std::atomic<bool> lease_lost{false};
    // Written by the worker when the handler starts (steady clock, ns since
    // epoch; 0: not started), read by the loop for timeouts and the stop.
    std::atomic<std::int64_t> started_ns{0};
    // Written by the loop (claim, heartbeat), read by the worker: after this
    // (steady clock, ns since epoch) the lease may have expired, so a worker
    // does not start the job.
    std::atomic<std::int64_t> start_deadline_ns{0};

    // Loop thread only.
    TaskState state = TaskState::waiting;
    // A unique job whose key holds while it is succeeded: its success keeps
    // the row even with PgJobStoreOptions::delete_succeeded.
    bool keeps_row = false;
    bool in_doubt = false;  // a write of its result was cut off: it may have committed; write it idempotently
    bool job_cancelled = false;  // cancelled (PgJobStore::cancel) while we held it: JobCancelled was published
    std::chrono::nanoseconds run_time{};  // the handler's, once it returned

    // Applies an event; false when it cannot happen in this state.
    bool apply(TaskEvent event) noexcept {
        auto next = next_state(state, event);
        if (!next) return false;
        state = *next;
        return true;
    }
    bool settled() const noexcept { return state == TaskState::settled; }
    bool started() const noexcept { return started_ns.load(std::memory_order_acquire) != 0; }
    JobRef ref() const;
    std::string_view queue_name() const noexcept;
};

}  // namespace seesaw::detail

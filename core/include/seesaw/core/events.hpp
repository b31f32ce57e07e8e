#pragma once
// Lifecycle events the dispatcher publishes on its EventBus. String views
// point at storage that lives at least as long as the callback runs; copy
// them if you keep them.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "seesaw/core/job.hpp"

namespace seesaw {

// The identity of one run of a job, shared by the job events.
struct JobRef {
    JobId id;
    std::string_view job_type;
    std::string_view queue;
    std::int32_t attempt = 1;
};

// A NOTIFY for a queue this dispatcher serves arrived (loop thread).
struct NotificationReceived {
    std::string_view queue;
};
// A claim statement returned: batch size per queue.
struct ClaimFinished {
    std::string_view queue;
    std::size_t requested = 0;
    std::size_t claimed = 0;
};
struct JobClaimed {
    JobRef job;
    // Inserted running and handed over in memory by an enqueue of this
    // process (the fast path), not claimed by a statement.
    bool fast_path = false;
};
// A worker thread is about to call the handler.
struct JobStarted {
    JobRef job;
    Timestamp created_at{};  // database clock, when the job was inserted
    Timestamp run_at{};      // database clock, when the job became due
};
// The success is durably written.
struct JobSucceeded {
    JobRef job;
    std::chrono::nanoseconds duration{};  // the handler's run time
};
// The failure is written and the job waits for another attempt.
struct JobRetried {
    JobRef job;
    std::string_view error;
    std::chrono::milliseconds delay{};  // until the retry becomes due
    std::chrono::nanoseconds duration{};
};
// The job went to the dead letter queue.
struct JobDeadLettered {
    JobRef job;
    std::string_view error;
    std::chrono::nanoseconds duration{};
};
// The job was cancelled: by its handler (CancelJob, written), or by
// PgJobStore::cancel while this dispatcher held it (the handler, if it runs,
// sees ctx.cancelled(); nothing it does is written).
struct JobCancelled {
    JobRef job;
    std::string_view reason;
    std::chrono::nanoseconds duration{};  // the handler's run time, when it cancelled its job
};
// The handler snoozed: the job runs again after `delay`, and the run did not
// count as a failed attempt.
struct JobSnoozed {
    JobRef job;
    std::chrono::milliseconds delay{};
    std::chrono::nanoseconds duration{};
};
// A queue this dispatcher serves was paused or resumed (loop thread).
struct QueuePauseChanged {
    std::string_view queue;
    bool paused = false;
};
// The dispatcher no longer owns a job it was running: its lease was reclaimed
// or its timeout passed. A late result of the handler is not written.
struct LeaseLost {
    JobRef job;
    std::string_view reason;
};
// A database connection of the dispatcher came back after it was lost.
struct Reconnected {
    std::string_view connection;  // "listen", "claim" or "complete"
    std::uint32_t attempts = 0;
    std::chrono::milliseconds downtime{};
};
// A database connection of the dispatcher was lost.
struct Disconnected {
    std::string_view connection;
    std::string_view error;
};
// This dispatcher became, or stopped being, the maintenance leader of its
// schema: the one that reclaims expired leases, inserts periodic jobs and
// deletes finished jobs past their retention (loop thread).
struct LeadershipChanged {
    bool leader = false;
};
// The leader inserted the job of one slot of a periodic schedule (loop
// thread). caught_up: the slot had passed while no leader was there.
struct PeriodicJobEnqueued {
    std::string_view schedule;
    Timestamp slot{};
    JobId id;
    bool caught_up = false;
};
// A retention sweep of the leader deleted finished jobs of one state (loop
// thread; one event per state that had any).
struct JobsDeleted {
    JobStatus status = JobStatus::succeeded;
    std::uint64_t count = 0;
};
// stop() finished: every handle is closed.
struct DispatcherStopped {
    std::size_t released = 0;  // jobs handed back to the queue unrun
};

}  // namespace seesaw

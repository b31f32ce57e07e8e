#include "report_step.hpp"

#include <algorithm>
#include <utility>

#include "completer.hpp"
#include "executor.hpp"
#include "producer.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "task.hpp"

namespace seesaw::detail {

std::chrono::milliseconds retry_delay(const Task& task, const RetryPolicy& dispatcher_policy) {
    const auto& own = task.handler->options.retry_policy;
    // Runs that snoozed are not failures: they do not lengthen the backoff.
    return (own ? *own : dispatcher_policy).delay(std::max(1, task.attempt - task.snoozes));
}

bool take_report(Report& report, Producer& producer, Completer& completer, bool closing,
                 const RetryPolicy& dispatcher_policy) {
    Task& task = *report.task;
    if (task.settled()) return false;  // shutdown gave up on it already
    if (report.started) {
        task.apply(TaskEvent::started);
        producer.started(task);
        return false;
    }
    producer.returned(task);
    task.run_time = report.duration;
    const auto before = task.state;
    task.apply(report.outcome == Outcome::skipped ? TaskEvent::skipped : TaskEvent::returned);
    if (closing) {
        // Late results of handlers that outlived the give-up: dropped.
        task.apply(TaskEvent::dropped);
    } else if (task.state == TaskState::releasing) {
        completer.release(task);
    } else if (report.outcome == Outcome::committed || report.outcome == Outcome::fenced) {
        // Written (or not) in the handler's own transaction. A timed-out
        // task's failure write, in flight, is fenced out by a success
        // committed first.
        completer.written_in_transaction(task, report.outcome == Outcome::committed,
                                         before == TaskState::waiting || before == TaskState::running);
    } else if (before == TaskState::waiting || before == TaskState::running) {
        // Its own outcome (a timed-out task's failure is written already).
        switch (report.outcome) {
            case Outcome::succeeded: completer.succeeded(task); break;
            case Outcome::snoozed:
                completer.failed(task, {}, FailKind::snooze, report.retry_in.value_or(std::chrono::milliseconds(0)),
                                 report.duration, false);
                break;
            case Outcome::cancelled:
                completer.failed(task, std::move(report.error), FailKind::cancel, {}, report.duration, false);
                break;
            default:
                completer.failed(task, std::move(report.error),
                                 report.outcome == Outcome::permanent ? FailKind::non_retryable : FailKind::retryable,
                                 report.retry_in ? *report.retry_in : retry_delay(task, dispatcher_policy),
                                 report.duration, false);
        }
    }
    return task.settled();
}

}  // namespace seesaw::detail

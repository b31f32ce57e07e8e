#include "report_step.hpp"

#include <utility>

#include "completer.hpp"
#include "executor.hpp"
#include "producer.hpp"
#include "seesaw/dispatch/dispatcher.hpp"
#include "task.hpp"

namespace seesaw::detail {

std::chrono::milliseconds retry_delay(const Task& task, const RetryPolicy& dispatcher_policy) {
    const auto& own = task.handler->options.retry_policy;
    return (own ? *own : dispatcher_policy).delay(task.attempt);
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
    } else if (before == TaskState::waiting || before == TaskState::running) {
        // Its own outcome (a timed-out task's failure is written already).
        if (report.outcome == Outcome::succeeded) {
            completer.succeeded(task);
        } else {
            completer.failed(task, std::move(report.error),
                             report.outcome == Outcome::permanent ? ErrorKind::non_retryable : ErrorKind::retryable,
                             report.retry_in ? *report.retry_in : retry_delay(task, dispatcher_policy),
                             report.duration, false);
        }
    }
    return task.settled();
}

}  // namespace seesaw::detail

#pragma once
// What the loop does with one worker's report (Engine::wake drains them):
// a start notice goes to the producer; a handler's result moves the task's
// state machine (task.hpp) and goes to the completer for its fenced write,
// or is dropped when the dispatcher has given up on late results. The engine
// and the hot-path micro-benchmark both run this one step.

#include <chrono>

#include "seesaw/core/retry_policy.hpp"

namespace seesaw::detail {

struct Report;
struct Task;
class Producer;
class Completer;

// The backoff before a failed task's next attempt: its handler's policy, or
// the dispatcher's.
std::chrono::milliseconds retry_delay(const Task& task, const RetryPolicy& dispatcher_policy);

// closing: the dispatcher stopped waiting for handlers; their results are
// dropped. Returns true when the task settled: the caller retires it.
bool take_report(Report& report, Producer& producer, Completer& completer, bool closing,
                 const RetryPolicy& dispatcher_policy);

}  // namespace seesaw::detail

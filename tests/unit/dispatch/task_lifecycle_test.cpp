// Every transition of a task's life (task.hpp), and the paths a task takes.
#include "task.hpp"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace seesaw::detail {
namespace {

using S = TaskState;
using E = TaskEvent;

const std::vector<S> all_states = {S::waiting,   S::running,      S::writing,      S::releasing,
                                   S::timed_out, S::waiting_lost, S::running_lost, S::settled};
const std::vector<E> all_events = {E::started, E::returned, E::skipped, E::lease_lost, E::timed_out, E::written, E::dropped};

// The whole table: (state, event) → next; missing pairs cannot happen.
const std::map<std::pair<S, E>, S> table = {
    {{S::waiting, E::started}, S::running},
    {{S::waiting, E::returned}, S::writing},
    {{S::waiting, E::skipped}, S::releasing},
    {{S::waiting, E::lease_lost}, S::waiting_lost},
    {{S::running, E::started}, S::running},
    {{S::running, E::returned}, S::writing},
    {{S::running, E::lease_lost}, S::running_lost},
    {{S::running, E::timed_out}, S::timed_out},
    {{S::writing, E::lease_lost}, S::writing},
    {{S::writing, E::written}, S::settled},
    {{S::releasing, E::lease_lost}, S::releasing},
    {{S::releasing, E::written}, S::settled},
    {{S::timed_out, E::started}, S::timed_out},
    {{S::timed_out, E::returned}, S::writing},
    {{S::timed_out, E::lease_lost}, S::timed_out},
    {{S::timed_out, E::written}, S::running_lost},
    {{S::waiting_lost, E::started}, S::running_lost},
    {{S::waiting_lost, E::returned}, S::settled},
    {{S::waiting_lost, E::skipped}, S::settled},
    {{S::waiting_lost, E::lease_lost}, S::waiting_lost},
    {{S::running_lost, E::started}, S::running_lost},
    {{S::running_lost, E::lease_lost}, S::running_lost},
    {{S::running_lost, E::returned}, S::settled},
};

TEST(TaskLifecycle, EveryStateAndEventAsTheTableSays) {
    for (auto state : all_states) {
        for (auto event : all_events) {
            SCOPED_TRACE(std::string(to_string(state)) + " + " + std::string(to_string(event)));
            auto next = next_state(state, event);
            if (event == E::dropped) {
                EXPECT_EQ(next, S::settled) << "shutdown can give up on anything";
                continue;
            }
            auto expected = table.find({state, event});
            if (expected == table.end()) {
                EXPECT_FALSE(next) << "cannot happen, yet it gave " << to_string(*next);
            } else {
                ASSERT_TRUE(next);
                EXPECT_EQ(*next, expected->second) << to_string(*next);
            }
        }
    }
}

// Runs events from waiting; the states passed through.
std::vector<S> path(std::initializer_list<E> events) {
    Task task;
    std::vector<S> states;
    for (auto e : events) {
        EXPECT_TRUE(task.apply(e)) << to_string(e) << " from " << to_string(task.state);
        states.push_back(task.state);
    }
    return states;
}

TEST(TaskLifecycle, AJobThatRunsAndIsWritten) {
    EXPECT_EQ(path({E::started, E::returned, E::written}), (std::vector<S>{S::running, S::writing, S::settled}));
    // Without a start notice (it went straight to a free worker).
    EXPECT_EQ(path({E::returned, E::written}), (std::vector<S>{S::writing, S::settled}));
}

TEST(TaskLifecycle, AResultWriteCutOffIsWrittenAgainBeforeItSettles) {
    Task task;
    task.apply(E::returned);
    task.in_doubt = true;  // the write was cut off: the state stays, the next write is idempotent
    EXPECT_EQ(task.state, S::writing);
    EXPECT_TRUE(task.apply(E::written));
    EXPECT_TRUE(task.settled());
}

TEST(TaskLifecycle, ALeaseLostWhileTheHandlerRunsDropsItsResult) {
    EXPECT_EQ(path({E::started, E::lease_lost, E::returned}),
              (std::vector<S>{S::running, S::running_lost, S::settled}));
    // Lost while it waited: the worker skips it, nothing is written.
    EXPECT_EQ(path({E::lease_lost, E::skipped}), (std::vector<S>{S::waiting_lost, S::settled}));
    // Lost after it returned: its write reports the fence.
    EXPECT_EQ(path({E::returned, E::lease_lost, E::written}), (std::vector<S>{S::writing, S::writing, S::settled}));
}

TEST(TaskLifecycle, ATimeoutWritesTheFailureWhileTheHandlerStillRuns) {
    // The failure is written first, the handler returns later.
    EXPECT_EQ(path({E::started, E::timed_out, E::written, E::returned}),
              (std::vector<S>{S::running, S::timed_out, S::running_lost, S::settled}));
    // The handler returns before the failure is written: the write settles it.
    EXPECT_EQ(path({E::started, E::timed_out, E::returned, E::written}),
              (std::vector<S>{S::running, S::timed_out, S::writing, S::settled}));
}

TEST(TaskLifecycle, AStopHandsBackWhatNoWorkerStarted) {
    EXPECT_EQ(path({E::skipped, E::written}), (std::vector<S>{S::releasing, S::settled}));
    // A hand-back that finds the job gone (its lease expired meanwhile) settles all the same.
    EXPECT_EQ(path({E::skipped, E::lease_lost, E::written}),
              (std::vector<S>{S::releasing, S::releasing, S::settled}));
}

TEST(TaskLifecycle, ASettledTaskTakesNoEventButDropped) {
    Task task;
    task.apply(E::dropped);
    for (auto e : all_events) {
        if (e == E::dropped) continue;
        EXPECT_FALSE(task.apply(e)) << to_string(e);
    }
}

}  // namespace
}  // namespace seesaw::detail

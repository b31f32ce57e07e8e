#pragma once
// The one include of moodycamel's concurrentqueue. It keeps order only per
// producer: job order comes from SQL (the claim's ORDER BY), never from here.
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>

namespace seesaw::detail {

// New work reaches an idle worker only after a claim round trip (100 µs or
// more), so spinning 10,000 times before sleeping (the default) only burns
// the CPU the loop and the database need; spin briefly, then sleep.
struct HandoffTraits : moodycamel::ConcurrentQueueDefaultTraits {
    static const int MAX_SEMA_SPINS = 100;
};

}  // namespace seesaw::detail

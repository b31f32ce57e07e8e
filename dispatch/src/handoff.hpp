#pragma once
// The one include of moodycamel's concurrentqueue. It keeps order only per
// producer: job order comes from SQL (the claim's ORDER BY), never from here.
#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>

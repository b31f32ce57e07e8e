// ThreadSanitizer does not model atomic_thread_fence (GCC says so with
// -Wtsan), and moodycamel's ConcurrentQueue hands its blocks between threads
// with fences: TSan then reports the reuse of a block slot that a consumer
// read before the block was recycled as a race (the queue's header warns of
// such false reports). Suppress reports inside the queue and nowhere else.
// Linked into each dispatcher test program; unused without TSan.
extern "C" const char* __tsan_default_suppressions() { return "race:moodycamel::\n"; }

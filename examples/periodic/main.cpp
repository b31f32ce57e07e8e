// The README's periodic jobs and retention example: a dispatcher with two
// schedules and its retention periods, run for three slots of the faster
// schedule; then what the schedules table says.
// Run: seesaw-periodic postgresql://user@host/db [SCHEMA]
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include <seesaw/seesaw.hpp>

using namespace std::chrono_literals;

struct NightlyReport {
    std::string account;
};

struct RefreshCache {
    std::int64_t generation = 0;
};

template <>
struct seesaw::JobTraits<NightlyReport> {
    static constexpr std::string_view name = "nightly_report";
    static constexpr std::string_view queue = "reports";
    static void encode(const NightlyReport& job, seesaw::PayloadWriter& out) { out.field("account", job.account); }
    static NightlyReport decode(const seesaw::PayloadReader& in) { return {in.string("account")}; }
};

template <>
struct seesaw::JobTraits<RefreshCache> {
    static constexpr std::string_view name = "refresh_cache";
    static void encode(const RefreshCache& job, seesaw::PayloadWriter& out) { out.field("generation", job.generation); }
    static RefreshCache decode(const seesaw::PayloadReader& in) { return {in.int64("generation")}; }
};

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SEESAW_DATABASE_URL");
    if (url == nullptr) {
        std::cerr << "usage: seesaw-periodic DATABASE_URL [SCHEMA]\n";
        return 2;
    }
    const std::string schema = argc > 2 ? argv[2] : "seesaw";
    try {
        seesaw::PgPool pool(url);
        seesaw::migrate(pool, schema);
        seesaw::PgJobStore store(pool, {.schema = schema});

        // [retention]
        seesaw::Dispatcher dispatcher(store, {.queues = {{"default", 2}, {"reports", 1}},
                                              .retention = {.succeeded = std::chrono::hours(1),
                                                            .cancelled = std::chrono::hours(24),
                                                            .dead_letter = seesaw::keep_forever}});
        // [retention end]
        std::mutex mutex;
        std::condition_variable cv;
        int refreshed = 0;
        dispatcher.on<NightlyReport>([](const NightlyReport&, seesaw::JobContext&) { /* build the report */ });
        dispatcher.on<RefreshCache>([&](const RefreshCache&, seesaw::JobContext&) {
            std::lock_guard lock(mutex);
            ++refreshed;
            cv.notify_all();
        });
        // [periodic]
        // At 03:00 UTC every day, and every second; one job per slot
        // whatever the number of processes running this code.
        dispatcher.every<NightlyReport>("nightly-report", "0 3 * * *", [] { return NightlyReport{"all"}; });
        std::int64_t generation = 0;
        dispatcher.every<RefreshCache>("refresh-cache", "@every 1s", [&] { return RefreshCache{++generation}; },
                                       {.priority = -1});
        // [periodic end]
        dispatcher.start();
        {
            std::unique_lock lock(mutex);
            if (!cv.wait_for(lock, 60s, [&] { return refreshed >= 3; })) {
                std::cerr << "error: the schedule did not run three times within a minute\n";
                return 1;
            }
        }
        dispatcher.stop();
        for (const auto& s : store.periodic_schedules()) {
            std::cout << s.name << " (" << s.expression << ", " << s.job_type << " on queue " << s.queue
                      << "): next slot " << (s.next_slot ? seesaw::format_timestamp(*s.next_slot) : "-") << "\n";
        }
    } catch (const seesaw::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

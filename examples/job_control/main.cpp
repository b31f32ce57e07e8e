// The README's job control examples: a job type's defaults, cancelling,
// snoozing, a handler that cancels its own job, and pausing a queue.
// Run: seesaw-job-control postgresql://user@host/db [SCHEMA]
// It prints what happened to each job, one line each, in a fixed order.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include <seesaw/seesaw.hpp>

using namespace std::chrono_literals;

struct Thumbnail {
    std::string image;
    std::int64_t wait_for_upload = 0;  // snoozes until the upload is complete
    bool image_deleted = false;
};

template <>
struct seesaw::JobTraits<Thumbnail> {
    static constexpr std::string_view name = "thumbnail";
    // [type defaults]
    // Every enqueue of a Thumbnail takes these unless its EnqueueOptions set them.
    static constexpr std::string_view queue = "media";
    static constexpr std::int32_t priority = 5;
    static constexpr std::int32_t max_retries = 2;
    // One job per image until it has run.
    static std::string unique_key(const Thumbnail& job) { return job.image; }
    // And for its handler, unless its HandlerOptions set them:
    static constexpr std::chrono::milliseconds timeout{30'000};
    static constexpr std::int32_t max_snoozes = 10;
    // [type defaults end]
    static void encode(const Thumbnail& job, seesaw::PayloadWriter& out) {
        out.field("image", job.image).field("wait_for_upload", job.wait_for_upload).field("image_deleted", job.image_deleted);
    }
    static Thumbnail decode(const seesaw::PayloadReader& in) {
        return {in.string("image"), in.int64("wait_for_upload"), in.boolean("image_deleted")};
    }
};

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SEESAW_DATABASE_URL");
    if (url == nullptr) {
        std::cerr << "usage: seesaw-job-control DATABASE_URL [SCHEMA]\n";
        return 2;
    }
    const std::string schema = argc > 2 ? argv[2] : "seesaw";
    try {
        seesaw::PgPool pool(url);
        seesaw::migrate(pool, schema);
        seesaw::PgJobStore store(pool, {.schema = schema});

        const auto defaults = store.get_job(store.enqueue(Thumbnail{"cat.png"}));
        std::cout << "cat.png: queue " << defaults->queue << ", priority " << defaults->priority
                  << ", max_retries " << defaults->max_retries << "\n";

        // [cancel]
        seesaw::JobId id = store.enqueue(Thumbnail{"dog.png"});
        seesaw::CancelResult result = store.cancel(id);
        // result.cancelled: true, result.previous: pending. It never runs.
        std::cout << "dog.png: " << (result.cancelled ? "cancelled, was " : "left as it was: ")
                  << seesaw::to_string(result.previous) << "\n";
        result = store.cancel(id);  // finished jobs are left as they are
        std::cout << "dog.png again: " << (result.cancelled ? "cancelled, was " : "left as it was: ")
                  << seesaw::to_string(result.previous) << "\n";
        // Or every unfinished job of a type and/or queue:
        std::uint64_t n = store.cancel_all({.job_type = "thumbnail", .queue = "media"});
        // [cancel end]
        std::cout << "cancel_all: " << n << " cancelled\n";

        // [pause]
        store.pause_queue("media");  // no dispatcher, in any process, starts its jobs
        std::vector<seesaw::JobId> ids = {store.enqueue(Thumbnail{"upload.png", 2}),
                                          store.enqueue(Thumbnail{"gone.png", 0, true})};
        // ... enqueues go on; later:
        store.resume_queue("media");
        // [pause end]
        for (const auto& queue : store.queues())
            std::cout << "queue " << queue.name << ": " << (queue.paused ? "paused" : "running") << ", "
                      << queue.counts.pending << " pending, " << queue.counts.cancelled << " cancelled\n";

        seesaw::Dispatcher dispatcher(store, {.queues = {{"media", 2}}});
        // [snooze]
        dispatcher.on<Thumbnail>([](const Thumbnail& job, seesaw::JobContext& ctx) {
            if (job.image_deleted) throw seesaw::CancelJob("the image was deleted");  // never retried
            if (ctx.snoozes() < job.wait_for_upload) {
                // Not ready yet: run again in 50 ms. A snooze is not a failed
                // attempt; a job may snooze max_snoozes times (then it is one).
                ctx.snooze(50ms);
            }
            // ... make the thumbnail; while it runs, ctx.cancelled() turns true
            // if someone cancels the job (its result is then not written).
        });
        // [snooze end]
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t finished = 0;
        auto count = [&] {
            std::lock_guard lock(mutex);
            ++finished;
            cv.notify_all();
        };
        auto on_success = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const auto&) { count(); });
        auto on_cancel = dispatcher.events().subscribe<seesaw::JobCancelled>([&](const auto&) { count(); });
        dispatcher.start();
        {
            std::unique_lock lock(mutex);
            if (!cv.wait_for(lock, 60s, [&] { return finished == ids.size(); })) {
                std::cerr << "error: the jobs did not finish within a minute\n";
                return 1;
            }
        }
        dispatcher.stop();
        for (const auto& job_id : ids) {
            const auto job = store.get_job(job_id);
            std::cout << seesaw::decode_payload<Thumbnail>(job->payload).image << ": "
                      << seesaw::to_string(job->status) << " after " << job->snoozes << " snooze(s)"
                      << (job->error_message ? " (" + *job->error_message + ")" : std::string()) << "\n";
        }
    } catch (const seesaw::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

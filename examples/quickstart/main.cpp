// The README's example: a typed job, enqueued and run by a dispatcher.
// Run: seesaw-quickstart postgresql://user@host/db
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include <seesaw/seesaw.hpp>

// [job type]
struct SendEmail {
    std::string to;
    std::string subject;
};

template <>
struct seesaw::JobTraits<SendEmail> {
    static constexpr std::string_view name = "send_email";  // stored in jobs.job_type
    static void encode(const SendEmail& job, seesaw::PayloadWriter& out) {
        out.field("to", job.to).field("subject", job.subject);
    }
    static SendEmail decode(const seesaw::PayloadReader& in) {
        return {in.string("to"), in.string("subject")};  // a missing field dead-letters the job
    }
};
// [job type end]

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SEESAW_DATABASE_URL");
    if (url == nullptr) {
        std::cerr << "usage: seesaw-quickstart DATABASE_URL\n";
        return 2;
    }
    try {
        // [usage]
        seesaw::PgPool pool(url);
        seesaw::migrate(pool, "seesaw");  // idempotent
        seesaw::PgJobStore store(pool);   // 60 s lease; with_lease_timeout(pool, ms) for another

        seesaw::Dispatcher dispatcher(store, {.queues = {{"default", 4}}});
        dispatcher.on<SendEmail>([](const SendEmail& email, seesaw::JobContext& ctx) {
            std::cout << "sending '" << email.subject << "' to " << email.to << " (attempt " << ctx.attempt()
                      << ")\n";
            // return: success; throw seesaw::RetryableError: retry with backoff;
            // throw seesaw::PermanentError: dead letter at once
        });

        std::mutex mutex;
        std::condition_variable cv;
        int finished = 0;
        auto subscription = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) {
            std::lock_guard lock(mutex);
            ++finished;
            cv.notify_all();
        });
        dispatcher.start();

        store.enqueue(SendEmail{"ada@example.com", "Welcome"});
        store.enqueue(SendEmail{"grace@example.com", "Your invoice"}, {.priority = -1, .max_retries = 5});
        store.enqueue(SendEmail{"alan@example.com", "Reminder"}, {.delay = std::chrono::seconds(1)});

        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return finished == 3; });
        lock.unlock();
        dispatcher.stop();  // graceful: finishes running jobs, writes results, closes everything
        // [usage end]
        auto stats = store.stats();
        std::cout << "succeeded: " << stats.succeeded << ", pending: " << stats.pending << "\n";
    } catch (const seesaw::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

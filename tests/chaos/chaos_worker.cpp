// One dispatcher of the chaos test, in a process of its own, built from the
// public API only. Runs the chaos jobs (chaos_jobs.hpp) until SIGTERM/SIGINT
// (a graceful stop), then exits 0.
//
//   chaos_worker URL SCHEMA NAME LEDGER [LEASE_MS]
//
// Its dispatcher's worker id is NAME:PID. Every handler run is written to
// LEDGER, outside the database, before anything about it can reach the
// database (one write() per line, see chaos::Ledger):
//   S <id> <attempt> <worker> <pid> <type> <us>                  a run starts
//   E <id> <attempt> <worker> <pid> <ok|retry|perm> <us> <cancelled 0|1>
//                                                                 it ends (before its result is handed back)
// and, for diagnosis only, what the dispatcher reported:
//   C <id> <attempt> <worker> <us>                                claimed
//   W <id> <attempt> <worker> <ok|retry|dead> <us>                result written
//   L <id> <attempt> <worker> <us> <reason>                       lease lost
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "chaos_jobs.hpp"
#include "seesaw/seesaw.hpp"

namespace {

using namespace std::chrono_literals;

std::string ref(const seesaw::JobRef& job, const std::string& worker) {
    return job.id.to_string() + " " + std::to_string(job.attempt) + " " + worker;
}

class Runner {
public:
    explicit Runner(const chaos::Ledger& ledger) : ledger_(ledger), pid_(std::to_string(::getpid())) {}

    void start(const seesaw::JobContext& ctx) const {
        ledger_.line("S " + run_of(ctx) + " " + pid_ + " " + std::string(ctx.job_type()) + " " +
                     std::to_string(chaos::now_us()));
    }

    // Sleeps (in steps, leaving early when the run is cancelled), then does
    // what the job's plan says. The END line is written before the handler
    // returns or throws: before the dispatcher can write the result.
    void finish(const seesaw::JobContext& ctx, std::int64_t sleep_ms) const {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep_ms);
        while (!ctx.cancelled()) {
            const auto left = until - std::chrono::steady_clock::now();
            if (left <= 0ms) break;
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, 5ms));
        }
        switch (chaos::plan_for(ctx.id())) {
            case chaos::Plan::fail_first_attempt:
                if (ctx.attempt() == 1) fail<seesaw::RetryableError>(ctx, "retry", "fails its first attempt");
                break;
            case chaos::Plan::fail_every_attempt:
                fail<seesaw::RetryableError>(ctx, "retry", "fails every attempt");
            case chaos::Plan::permanent:
                fail<seesaw::PermanentError>(ctx, "perm", "can never succeed");
            case chaos::Plan::succeed:
                break;
        }
        end(ctx, "ok");
    }

    template <class E>
    [[noreturn]] void fail(const seesaw::JobContext& ctx, const char* outcome, const std::string& why) const {
        end(ctx, outcome);
        throw E("chaos job " + ctx.id().to_string() + " attempt " + std::to_string(ctx.attempt()) + " " + why);
    }

private:
    static std::string run_of(const seesaw::JobContext& ctx) {
        return ctx.id().to_string() + " " + std::to_string(ctx.attempt()) + " " + ctx.worker_id();
    }
    void end(const seesaw::JobContext& ctx, const char* outcome) const {
        ledger_.line("E " + run_of(ctx) + " " + pid_ + " " + outcome + " " + std::to_string(chaos::now_us()) +
                     (ctx.cancelled() ? " 1" : " 0"));
    }

    const chaos::Ledger& ledger_;
    std::string pid_;
};

// The server may be restarting when a replacement worker starts.
seesaw::PgPool connect(const std::string& url) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
        try {
            return seesaw::PgPool(url, seesaw::PgPoolOptions{.max_connections = 4});
        } catch (const seesaw::ConnectionError&) {
            if (std::chrono::steady_clock::now() > deadline) throw;
            std::this_thread::sleep_for(200ms);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s URL SCHEMA NAME LEDGER [LEASE_MS]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const std::string schema = argv[2];
    const std::string worker_id = std::string(argv[3]) + ":" + std::to_string(::getpid());
    const auto lease = std::chrono::milliseconds(argc > 5 ? std::stoll(argv[5]) : 3000);
    try {
        const chaos::Ledger ledger(argv[4]);
        const Runner runner(ledger);
        // Short backoffs, so that the drain after the faults takes seconds.
        const seesaw::RetryPolicy backoff{.base = 100ms, .cap = 1000ms};
        seesaw::PgJobStore store(connect(url),
                                 {.schema = schema, .lease_timeout = lease, .retry_policy = backoff});
        seesaw::Dispatcher dispatcher(store, {.queues = {{"default", 4}, {std::string(chaos::slow_queue), 2, 4}},
                                              .reclaim_interval = 1000ms,
                                              // A killed or stopped leader is replaced
                                              // within seconds, like a lease.
                                              .leader_ttl = 3000ms,
                                              .retry_policy = backoff,
                                              .worker_id = worker_id,
                                              .handle_signals = true});

        dispatcher.on<chaos::QuickJob>([&](const chaos::QuickJob& job, seesaw::JobContext& ctx) {
            runner.start(ctx);
            runner.finish(ctx, job.sleep_ms);
        });
        dispatcher.on<chaos::SlowJob>([&](const chaos::SlowJob& job, seesaw::JobContext& ctx) {
            runner.start(ctx);
            runner.finish(ctx, job.sleep_ms);
        });
        dispatcher.on_raw(std::string(seesaw::job_type_name<chaos::RawJob>()),
                          [&](std::string_view payload, seesaw::JobContext& ctx) {
                              runner.start(ctx);
                              chaos::RawJob job;
                              try {
                                  job = seesaw::decode_payload<chaos::RawJob>(payload);
                              } catch (const seesaw::PayloadError& e) {
                                  runner.fail<seesaw::PermanentError>(ctx, "perm", e.what());
                              }
                              runner.finish(ctx, job.sleep_ms);
                          });

        auto& events = dispatcher.events();
        auto on_claimed = events.subscribe<seesaw::JobClaimed>([&](const seesaw::JobClaimed& e) {
            ledger.line("C " + ref(e.job, worker_id) + " " + std::to_string(chaos::now_us()));
        });
        auto on_succeeded = events.subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded& e) {
            ledger.line("W " + ref(e.job, worker_id) + " ok " + std::to_string(chaos::now_us()));
        });
        auto on_retried = events.subscribe<seesaw::JobRetried>([&](const seesaw::JobRetried& e) {
            ledger.line("W " + ref(e.job, worker_id) + " retry " + std::to_string(chaos::now_us()));
        });
        auto on_dead = events.subscribe<seesaw::JobDeadLettered>([&](const seesaw::JobDeadLettered& e) {
            ledger.line("W " + ref(e.job, worker_id) + " dead " + std::to_string(chaos::now_us()));
        });
        auto on_lost = events.subscribe<seesaw::LeaseLost>([&](const seesaw::LeaseLost& e) {
            ledger.line("L " + ref(e.job, worker_id) + " " + std::to_string(chaos::now_us()) + " " +
                        std::string(e.reason));
        });

        std::fprintf(stderr, "chaos worker %s: running\n", worker_id.c_str());
        dispatcher.run();
        std::fprintf(stderr, "chaos worker %s: stopped\n", worker_id.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chaos worker %s: %s\n", worker_id.c_str(), e.what());
        return 1;
    }
}

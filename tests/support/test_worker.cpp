// A dispatcher in a process of its own, for the multi-process and SIGKILL
// tests: runs Work jobs from one schema until SIGTERM/SIGINT (a graceful
// stop), then exits 0.
//
//   seesaw-test-worker URL SCHEMA NAME [WORKERS] [LEASE_MS] [PREFETCH] [QUEUES]
//
// QUEUES: the queues it serves, comma-separated (default: default), each
// with WORKERS workers.
//
// Environment: SEESAW_TEST_SCHEDULE="NAME|EXPRESSION" registers a periodic
// schedule of Work jobs; SEESAW_TEST_RECLAIM_MS sets the reclaim interval
// (how soon it takes over leadership); SEESAW_TEST_LEADER_TTL_MS the
// leader_ttl (how soon a dead leader is replaced); SEESAW_TEST_HEARTBEAT_MS the heartbeat
// interval; SEESAW_TEST_ENQUEUE_MS="SLEEP_MS" makes it enqueue one Work job
// with that sleep_ms itself, through its dispatcher's store (the in-process
// fast path), once it is ready.
// Every handler run is recorded durably before the handler returns, as a row
// (job_id, worker, attempt) of SCHEMA.runs (the test creates that table), on
// a connection of the worker thread's own: a run is on record even if the
// process dies right after it, so "ran exactly once" is checked against
// what happened, not against what a process remembered. A Crash job is
// recorded the same way, then kills the process (SIGKILL). Standard output gets
// one line per event the test waits for:
//   ready                     the first claim returned
//   enqueued <job id>         its own enqueue returned (committed)
//   started <job id> <attempt> a handler of a job with sleep_ms > 0 began
//   succeeded <job id>        the success is written
//   cancelled <job id>        the job was cancelled (by anyone) while it ran here
//   leader / not leader       it became / stopped being the maintenance leader
//   periodic <slot>           it inserted the job of a periodic slot
//   stopped <released>        run() returned
#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <thread>

#include "seesaw/seesaw.hpp"
#include "pooling_env.hpp"
#include "test_jobs.hpp"

namespace {

void say(const std::string& line) {
    // One write per line (shorter than PIPE_BUF): lines of threads never mix.
    std::string out = line + "\n";
    auto n = ::write(STDOUT_FILENO, out.data(), out.size());
    (void)n;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace seesaw;
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URL SCHEMA NAME [WORKERS] [LEASE_MS] [PREFETCH] [QUEUES]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const std::string schema = argv[2];
    const std::string name = argv[3];
    const std::size_t workers = argc > 4 ? std::stoul(argv[4]) : 4;
    const std::int64_t lease_ms = argc > 5 ? std::stoll(argv[5]) : 60'000;
    const std::size_t prefetch = argc > 6 ? std::stoul(argv[6]) : workers;
    std::vector<QueueOptions> queues;
    for (std::string rest = argc > 7 ? argv[7] : "default"; !rest.empty();) {
        const auto comma = rest.find(',');
        queues.emplace_back(rest.substr(0, comma), workers, prefetch);
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    try {
        PgPool pool(url, PgPoolOptions{.max_connections = 4});
        // Through a pooler (tests/pgbouncer/run.sh): transaction pooling, and
        // LISTEN on a direct connection or none.
        PgJobStore store(pool, PgJobStoreOptions{.schema = schema,
                                                 .lease_timeout = std::chrono::milliseconds(lease_ms),
                                                 .transaction_pooling = test::pooled()});
        const char* reclaim_ms = std::getenv("SEESAW_TEST_RECLAIM_MS");
        const char* heartbeat_ms = std::getenv("SEESAW_TEST_HEARTBEAT_MS");
        const char* leader_ttl_ms = std::getenv("SEESAW_TEST_LEADER_TTL_MS");
        Dispatcher dispatcher(store, test::as_configured({.queues = queues,
                                      .reclaim_interval = std::chrono::milliseconds(
                                          reclaim_ms != nullptr ? std::stoll(reclaim_ms) : 5000),
                                      .leader_ttl = std::chrono::milliseconds(
                                          leader_ttl_ms != nullptr ? std::stoll(leader_ttl_ms) : 15000),
                                      .heartbeat_interval = std::chrono::milliseconds(
                                          heartbeat_ms != nullptr ? std::stoll(heartbeat_ms) : 0),
                                      .handle_signals = true}));
        if (const char* schedule = std::getenv("SEESAW_TEST_SCHEDULE")) {
            const std::string text = schedule;
            const auto bar = text.find('|');
            dispatcher.every<test::Work>(text.substr(0, bar), text.substr(bar + 1), [] { return test::Work{0}; });
        }
        auto on_leader = dispatcher.events().subscribe<LeadershipChanged>(
            [](const LeadershipChanged& e) { say(e.leader ? "leader" : "not leader"); });
        auto on_periodic = dispatcher.events().subscribe<PeriodicJobEnqueued>(
            [](const PeriodicJobEnqueued& e) { say("periodic " + format_timestamp(e.slot)); });
        const std::string record = "INSERT INTO " + quote_identifier(schema) +
                                   ".runs (job_id, worker, attempt) VALUES ($1::uuid, $2, $3::int4)";
        dispatcher.on<test::Work>([&](const test::Work& job, JobContext& ctx) {
            thread_local std::optional<Connection> connection;
            if (!connection) connection.emplace(Connection::open(url));
            const auto id = ctx.id().to_string();
            const auto attempt = std::to_string(ctx.attempt());
            connection->execute(record, {id, name, attempt});
            if (job.sleep_ms <= 0) return;
            say("started " + id + " " + attempt);
            auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(job.sleep_ms);
            while (std::chrono::steady_clock::now() < until && !ctx.cancelled())
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
        });
        dispatcher.on<test::Crash>([&](const test::Crash&, JobContext& ctx) {
            thread_local std::optional<Connection> connection;
            if (!connection) connection.emplace(Connection::open(url));
            connection->execute(record, {ctx.id().to_string(), name, std::to_string(ctx.attempt())});
            ::raise(SIGKILL);
        });
        std::once_flag ready;
        std::thread enqueuer;
        const char* enqueue_ms = std::getenv("SEESAW_TEST_ENQUEUE_MS");
        auto on_claim = dispatcher.events().subscribe<ClaimFinished>([&](const ClaimFinished&) {
            std::call_once(ready, [&] {
                say("ready");
                if (enqueue_ms == nullptr) return;
                // Not on the loop thread, which the hand-over needs.
                enqueuer = std::thread([&store, sleep_ms = std::stoll(enqueue_ms)] {
                    say("enqueued " + store.enqueue(test::Work{1, sleep_ms}).to_string());
                });
            });
        });
        auto on_success = dispatcher.events().subscribe<JobSucceeded>(
            [](const JobSucceeded& e) { say("succeeded " + e.job.id.to_string()); });
        auto on_cancel = dispatcher.events().subscribe<JobCancelled>(
            [](const JobCancelled& e) { say("cancelled " + e.job.id.to_string()); });
        std::size_t released = 0;
        auto on_stop = dispatcher.events().subscribe<DispatcherStopped>(
            [&](const DispatcherStopped& e) { released = e.released; });
        dispatcher.run();
        if (enqueuer.joinable()) enqueuer.join();
        say("stopped " + std::to_string(released));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
        return 1;
    }
}

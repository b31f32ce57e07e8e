// The chaos test's C++ producer: enqueues chaos jobs through the public API
// until SIGTERM, with single enqueue, enqueue_batch, and enqueue_in inside a
// transaction of its own that it sometimes rolls back. It also keeps a small
// backlog in the slow queue (topped up in batches when stats_by_queue() says
// it ran low), so that every dispatcher always holds slow jobs claimed ahead
// of its workers: what a SIGKILL or SIGSTOP must not lose or miscount.
//
//   chaos_producer URL SCHEMA LEDGER SEED
//
// LEDGER gets one line per job once its fate is known to the producer:
//   A <id> <tag>           accepted: the call (or the COMMIT) returned
//   D <id> <tag> [<group>] in doubt: the call failed with the connection (the
//                          job may exist); jobs of one call share a group: all
//                          of them exist or none
//   R <id> <tag>           never committed: rolled back, or failed before COMMIT was sent
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chaos_jobs.hpp"
#include "seesaw/seesaw.hpp"

namespace {

using namespace std::chrono_literals;

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) { stop_requested.store(true); }

class Producer {
public:
    Producer(std::string url, const std::string& schema, const std::string& ledger, std::uint64_t seed)
        : url_(std::move(url)), store_(connect(url_), {.schema = schema}), ledger_(ledger), rng_(seed) {}

    void run() {
        auto next_top_up = std::chrono::steady_clock::now();
        while (!stop_requested.load()) {
            if (std::chrono::steady_clock::now() >= next_top_up) {
                top_up_slow_queue();
                next_top_up = std::chrono::steady_clock::now() + 1s;
            }
            const auto pick = draw(100);
            bool ok;
            if (pick < 70)
                ok = single();
            else if (pick < 80)
                ok = batch(10 + draw(91));
            else
                ok = transaction(1 + draw(4), draw(100) < 30);
            // After a failure the server is likely down: do not spin on it.
            std::this_thread::sleep_for(ok ? 100ms : 250ms);
        }
        std::fprintf(stderr, "chaos producer: %lu accepted, %lu in doubt, %lu not committed, %lu failed calls\n",
                     accepted_, in_doubt_, not_committed_, failed_calls_);
    }

private:
    static seesaw::PgPool connect(const std::string& url) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (true) {
            try {
                return seesaw::PgPool(url, seesaw::PgPoolOptions{.max_connections = 2});
            } catch (const seesaw::ConnectionError&) {
                if (std::chrono::steady_clock::now() > deadline) throw;
                std::this_thread::sleep_for(200ms);
            }
        }
    }

    std::uint64_t draw(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_); }

    struct Made {
        seesaw::NewJob job;
        std::string tag;
    };

    // kind: 0-87 quick, 88-93 slow, 94-99 raw.
    Made make(std::uint64_t kind) {
        std::string tag = "api-" + std::to_string(++sequence_);
        seesaw::EnqueueOptions options;
        options.max_retries = static_cast<std::int32_t>(draw(4));
        static constexpr std::int32_t priorities[] = {-1, 0, 0, 0, 1, 5};
        options.priority = priorities[draw(std::size(priorities))];
        if (draw(100) < 10) options.delay = std::chrono::milliseconds(500 + draw(4501));
        seesaw::NewJob job;
        if (kind < 88) {
            job = seesaw::JobStore::make_new_job(chaos::QuickJob{tag, std::int64_t(draw(21))}, options);
        } else if (kind < 94) {
            options.queue = std::string(chaos::slow_queue);
            job = seesaw::JobStore::make_new_job(chaos::SlowJob{tag, std::int64_t(100 + draw(901))}, options);
        } else {
            job = seesaw::JobStore::make_new_job(chaos::RawJob{tag, std::int64_t(draw(21))}, options);
        }
        return {std::move(job), std::move(tag)};
    }
    Made make() { return make(draw(100)); }

    void top_up_slow_queue() {
        constexpr std::int64_t low_water = 24;
        try {
            const auto queues = store_.stats_by_queue();
            const auto it = queues.find(std::string(chaos::slow_queue));
            if (it != queues.end() && it->second.pending + it->second.failed >= low_water) return;
        } catch (const seesaw::Error& e) {
            failed(e, "stats_by_queue");
            return;
        }
        batch(low_water, 90);
    }

    void record(char fate, const std::vector<Made>& jobs) {
        const std::string group = fate == 'D' && jobs.size() > 1 ? " " + jobs.front().tag : "";
        for (const auto& made : jobs)
            ledger_.line(std::string(1, fate) + " " + made.job.id.to_string() + " " + made.tag + group);
        auto& counter = fate == 'A' ? accepted_ : fate == 'D' ? in_doubt_ : not_committed_;
        counter += jobs.size();
    }

    // Validation errors are bugs of this program, not faults: let them end it.
    static bool is_fault(const seesaw::Error& e) {
        return dynamic_cast<const seesaw::UsageError*>(&e) == nullptr &&
               dynamic_cast<const seesaw::PayloadError*>(&e) == nullptr;
    }

    void failed(const seesaw::Error& e, const char* what) {
        if (!is_fault(e)) throw;
        ++failed_calls_;
        std::fprintf(stderr, "chaos producer: %s failed: %s\n", what, e.what());
    }

    bool single() {
        std::vector<Made> jobs{make()};
        try {
            store_.enqueue(jobs[0].job);
        } catch (const seesaw::Error& e) {
            failed(e, "enqueue");
            record('D', jobs);
            return false;
        }
        record('A', jobs);
        return true;
    }

    bool batch(std::uint64_t n, std::optional<std::uint64_t> kind = std::nullopt) {
        std::vector<Made> jobs;
        std::vector<seesaw::NewJob> batch;
        for (std::uint64_t i = 0; i < n; ++i) {
            jobs.push_back(kind ? make(*kind) : make());
            batch.push_back(jobs.back().job);
        }
        try {
            store_.enqueue_batch(batch);
        } catch (const seesaw::Error& e) {
            failed(e, "enqueue_batch");
            record('D', jobs);
            return false;
        }
        record('A', jobs);
        return true;
    }

    bool transaction(std::uint64_t n, bool roll_back) {
        std::vector<Made> jobs;
        for (std::uint64_t i = 0; i < n; ++i) jobs.push_back(make());
        bool commit_sent = false;
        try {
            if (!connection_) connection_.emplace(seesaw::Connection::open(url_));
            seesaw::Transaction tx(*connection_);
            for (const auto& made : jobs) store_.enqueue_in(*connection_, made.job);
            if (roll_back) {
                tx.rollback();
                record('R', jobs);
                return true;
            }
            commit_sent = true;
            tx.commit();
        } catch (const seesaw::Error& e) {
            failed(e, commit_sent ? "commit" : "enqueue_in");
            connection_.reset();
            record(commit_sent ? 'D' : 'R', jobs);
            return false;
        }
        record('A', jobs);
        return true;
    }

    std::string url_;
    seesaw::PgJobStore store_;
    chaos::Ledger ledger_;
    std::mt19937_64 rng_;
    std::optional<seesaw::Connection> connection_;
    std::uint64_t sequence_ = 0;
    unsigned long accepted_ = 0, in_doubt_ = 0, not_committed_ = 0, failed_calls_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s URL SCHEMA LEDGER SEED\n", argv[0]);
        return 2;
    }
    std::signal(SIGTERM, request_stop);
    std::signal(SIGINT, request_stop);
    try {
        Producer(argv[1], argv[2], argv[3], std::stoull(argv[4])).run();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chaos producer: %s\n", e.what());
        return 1;
    }
}

// seesaw-demo: producers and workers in separate processes sharing one
// database.
//
//   seesaw-demo reset   [--database-url URL] [--schema S]   fresh schema
//   seesaw-demo worker  [--database-url URL] [--schema S] [--workers N] [--metrics-listen ADDR]
//                       [--retain-succeeded DURATION]
//   seesaw-demo enqueue N [--database-url URL] [--schema S] [--wait]
//   seesaw-demo summary [--database-url URL] [--schema S]
//
// Every handler run is recorded in <schema>.demo_runs, so the summary can
// check that every job ended exactly once.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "jobs.hpp"

namespace {

using namespace std::chrono_literals;
using seesaw::JobContext;

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void ensure_runs_table(seesaw::PgPool& pool, const std::string& schema) {
    auto conn = pool.acquire();
    conn->execute("SET client_min_messages TO warning");
    // CREATE TABLE IF NOT EXISTS is not safe against itself: two workers
    // starting together both try to create the table. Take turns.
    seesaw::Transaction tx(*conn);
    conn->execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {"seesaw-demo.runs." + schema});
    conn->execute("CREATE TABLE IF NOT EXISTS " + seesaw::quote_identifier(schema) +
                  ".demo_runs (job_id uuid NOT NULL, attempt int NOT NULL, worker text NOT NULL,"
                  " started_us bigint NOT NULL, outcome text NOT NULL,"
                  " PRIMARY KEY (job_id, attempt, worker, started_us))");
    // Which workers stopped gracefully, with every run recorded; a worker
    // that was killed loses the runs it had not written yet.
    conn->execute("CREATE TABLE IF NOT EXISTS " + seesaw::quote_identifier(schema) +
                  ".demo_workers (worker text PRIMARY KEY, stopped_cleanly boolean NOT NULL DEFAULT false)");
    // The card charges: written by the charge_card handler in its own
    // transaction, with the job's success (completion in the handler's
    // transaction), so a job succeeded if and only if its charge is here.
    conn->execute("CREATE TABLE IF NOT EXISTS " + seesaw::quote_identifier(schema) +
                  ".demo_charges (job_id uuid NOT NULL, account text NOT NULL, amount_cents bigint NOT NULL,"
                  " attempt int NOT NULL)");
    tx.commit();
}

// Collects handler runs in memory and writes them in batches from a thread of
// its own, so recording costs the handlers nothing.
class RunRecorder {
public:
    RunRecorder(seesaw::PgPool& pool, std::string schema, std::string worker)
        : pool_(pool), table_(seesaw::quote_identifier(schema) + ".demo_runs"), worker_(std::move(worker)) {
        thread_ = std::thread([this] { loop(); });
    }
    ~RunRecorder() { finish(); }
    // Writes what is left and stops; whether every run was written.
    bool finish() {
        if (thread_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                done_ = true;
            }
            wake_.notify_one();
            thread_.join();
        }
        return all_written_;
    }
    void record(const JobContext& ctx, std::int64_t started_us, std::string_view outcome) {
        std::lock_guard lock(mutex_);
        ids_.add(ctx.id());
        attempts_.add(std::int64_t{ctx.attempt()});
        starts_.add(started_us);
        outcomes_.add(outcome);
        ++count_;
        ++total_;
    }
    // The dispatcher fenced out this run's result (its lease was lost): the
    // summary does not count the run's success.
    void record_lost(const seesaw::JobId& id, std::int32_t attempt) {
        std::lock_guard lock(mutex_);
        ids_.add(id);
        attempts_.add(std::int64_t{attempt});
        starts_.add(std::int64_t{-1});
        outcomes_.add(std::string_view("lease_lost"));
        ++count_;
    }
    std::size_t total() {
        std::lock_guard lock(mutex_);
        return total_;
    }

private:
    // A PostgreSQL array literal of the recorded values.
    struct Array {
        std::string text;
        void add(const seesaw::JobId& id) { append(id.to_string()); }
        void add(std::int64_t v) { append(std::to_string(v)); }
        void add(std::string_view s) { append(std::string(s)); }
        void append(const std::string& v) {
            text += text.empty() ? "{" : ",";
            text += v;
        }
        std::string take() { return std::exchange(text, std::string()) + "}"; }
    };

    struct Batch {
        std::string ids, attempts, starts, outcomes;
    };

    // Writes batches until it is told to stop and nothing is left. A batch
    // that fails (the database restarting, say) is kept and written again;
    // rows already written are skipped (a run is one (job, attempt, worker,
    // start)), so a write whose commit was not acknowledged cannot count a
    // run twice. Gives up on what is left only 30 s after being told to stop.
    void loop() {
        std::vector<Batch> pending;
        auto delay = 50ms;
        std::chrono::steady_clock::time_point give_up{};
        std::unique_lock lock(mutex_);
        while (true) {
            wake_.wait_for(lock, pending.empty() ? 50ms : delay, [&] { return done_ && pending.empty(); });
            if (count_ > 0) {
                pending.push_back({ids_.take(), attempts_.take(), starts_.take(), outcomes_.take()});
                count_ = 0;
            }
            if (done_ && give_up == std::chrono::steady_clock::time_point{})
                give_up = std::chrono::steady_clock::now() + 30s;
            if (pending.empty()) {
                if (done_) return;
                continue;
            }
            lock.unlock();
            bool written = false;
            try {
                auto conn = pool_.acquire();
                for (; !pending.empty(); pending.erase(pending.begin())) {
                    const auto& b = pending.front();
                    conn->execute("INSERT INTO " + table_ +
                                      " SELECT id, attempt, $5, started_us, outcome FROM unnest($1::uuid[], $2::int[],"
                                      " $3::bigint[], $4::text[]) AS t(id, attempt, started_us, outcome)"
                                      " ON CONFLICT DO NOTHING",
                                  {b.ids, b.attempts, b.starts, b.outcomes, worker_});
                }
                written = true;
            } catch (const std::exception& e) {
                std::cerr << "demo: recording runs failed, will retry: " << e.what() << "\n";
            }
            delay = written ? 50ms : std::min(delay * 2, std::chrono::milliseconds(2000));
            lock.lock();
            if (!written && done_ && std::chrono::steady_clock::now() > give_up) {
                std::cerr << "demo: gave up recording " << pending.size() << " batch(es) of runs\n";
                all_written_ = false;
                return;
            }
        }
    }

    seesaw::PgPool& pool_;
    std::string table_;
    std::string worker_;
    std::mutex mutex_;
    std::condition_variable wake_;
    Array ids_, attempts_, starts_, outcomes_;
    std::size_t count_ = 0;
    std::size_t total_ = 0;
    bool done_ = false;
    std::atomic<bool> all_written_{true};  // set by the writing thread
    std::thread thread_;
};

// Records the run when the handler returns or throws.
class RunScope {
public:
    RunScope(RunRecorder& recorder, const JobContext& ctx) : recorder_(recorder), ctx_(ctx), started_(now_us()) {}
    ~RunScope() {
        std::string_view outcome = "succeeded";
        if (std::uncaught_exceptions() > 0) outcome = permanent_ ? "dead_letter" : "retry";
        recorder_.record(ctx_, started_, outcome);
    }
    void permanent() { permanent_ = true; }

private:
    RunRecorder& recorder_;
    const JobContext& ctx_;
    std::int64_t started_;
    bool permanent_ = false;
};

// "30s", "5m", "2h", "7d" → milliseconds; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits > 9 || digits + 1 != text.size()) return std::nullopt;
    const std::int64_t n = std::stoll(text.substr(0, digits));
    switch (text.back()) {
        case 's': return std::chrono::seconds(n);
        case 'm': return std::chrono::minutes(n);
        case 'h': return std::chrono::hours(n);
        case 'd': return std::chrono::hours(24 * n);
        default: return std::nullopt;
    }
}

// How a worker reaches the database: direct (the default), or through a
// pooler in transaction mode (PgBouncer) with a direct LISTEN connection or
// polling only.
struct Connecting {
    std::string listen_url;           // --listen-database-url
    bool poll_only = false;           // --poll-only
    std::int64_t poll_interval_ms = 2000;
    bool transaction_pooling = false;  // --transaction-pooling
};

int run_worker(const std::string& url, const std::string& schema, std::size_t workers, const std::string& metrics,
               const seesaw::RetentionOptions& retention, const Connecting& connecting) {
    seesaw::PgPool pool(url, {.max_connections = workers + 4});
    seesaw::migrate(pool, schema);
    ensure_runs_table(pool, schema);
    // A short lease, so the slow jobs need heartbeats to keep theirs.
    seesaw::PgJobStore store(
        pool, {.schema = schema, .lease_timeout = 2s, .transaction_pooling = connecting.transaction_pooling});
    seesaw::Dispatcher dispatcher(store, {.queues = {{"default", workers}, {"reports", 2}, {"ticks", 1}},
                                          .listen = !connecting.poll_only,
                                          .listen_database_url = connecting.listen_url,
                                          .poll_interval = std::chrono::milliseconds(connecting.poll_interval_ms),
                                          .retention = retention,
                                          .retry_policy = {.base = 200ms, .cap = 2s},
                                          .handle_signals = true,
                                          .stop_grace = 15s,
                                          .metrics_listen = metrics});
    pool.acquire()->execute("INSERT INTO " + seesaw::quote_identifier(schema) +
                                ".demo_workers (worker) VALUES ($1) ON CONFLICT DO NOTHING",
                            {dispatcher.worker_id()});
    RunRecorder recorder(pool, schema, dispatcher.worker_id());
    auto lost = dispatcher.events().subscribe<seesaw::LeaseLost>(
        [&](const seesaw::LeaseLost& e) { recorder.record_lost(e.job.id, e.job.attempt); });

    // [handlers]
    dispatcher.on<demo::SendEmail>([&](const demo::SendEmail& email, JobContext& ctx) {
        RunScope run(recorder, ctx);
        if (email.to.find('@') == std::string::npos) throw seesaw::PermanentError("not an address: " + email.to);
    });
    dispatcher.on<demo::ResizeImage>([&](const demo::ResizeImage&, JobContext& ctx) {
        RunScope run(recorder, ctx);
        std::this_thread::sleep_for(2ms);
    });
    // Completion in the handler's transaction: the charge row and the job's
    // success commit together, or neither does.
    const std::string charge_sql = "INSERT INTO " + seesaw::quote_identifier(schema) +
                                   ".demo_charges VALUES ($1::uuid, $2, $3::int8, $4::int4)";
    dispatcher.on<demo::ChargeCard>([&](const demo::ChargeCard& charge, JobContext& ctx, seesaw::Transaction& tx) {
        RunScope run(recorder, ctx);
        if (ctx.attempt() <= charge.fail_times)
            throw seesaw::RetryableError("card network timed out (attempt " + std::to_string(ctx.attempt()) + ")");
        tx.connection().execute(charge_sql, {ctx.id().to_string(), charge.account, std::to_string(charge.amount_cents),
                                             std::to_string(ctx.attempt())});
    });
    dispatcher.on<demo::GenerateReport>([&](const demo::GenerateReport& report, JobContext& ctx) {
        RunScope run(recorder, ctx);
        auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(report.seconds);
        while (std::chrono::steady_clock::now() < until && !ctx.cancelled()) std::this_thread::sleep_for(10ms);
    });
    dispatcher.on<demo::PoisonPill>([&](const demo::PoisonPill& pill, JobContext& ctx) {
        RunScope run(recorder, ctx);
        run.permanent();
        throw seesaw::PermanentError("poison pill: " + pill.reason);
    });
    // [handlers end]
    // [periodic]
    // One demo_tick job every second, whatever the number of workers: only
    // the maintenance leader inserts it, once per slot.
    dispatcher.every<demo::Tick>("demo-tick", "@every 1s", [] { return demo::Tick{}; });
    dispatcher.on<demo::Tick>([&](const demo::Tick&, JobContext& ctx) { RunScope run(recorder, ctx); });
    // [periodic end]

    std::cerr << "worker " << dispatcher.worker_id() << ": " << workers << " threads on schema " << schema
              << " (Ctrl-C stops it gracefully)\n";
    if (!metrics.empty()) std::cerr << "metrics on http://127.0.0.1:" << dispatcher.metrics_port() << "/metrics\n";
    dispatcher.run();  // returns after SIGINT/SIGTERM and a graceful stop
    lost.reset();
    if (recorder.finish()) {
        pool.acquire()->execute("UPDATE " + seesaw::quote_identifier(schema) +
                                    ".demo_workers SET stopped_cleanly = true WHERE worker = $1",
                                {dispatcher.worker_id()});
    }
    std::cerr << "worker " << dispatcher.worker_id() << " stopped\n";
    return 0;
}

std::vector<seesaw::NewJob> demo_mix(std::size_t first, std::size_t n, std::mt19937_64& random) {
    using seesaw::JobStore;
    std::vector<seesaw::NewJob> jobs;
    jobs.reserve(n);
    std::uniform_int_distribution<int> percent(0, 9999);
    for (std::size_t i = first; i < first + n; ++i) {
        int p = percent(random);
        if (p < 8500) {
            jobs.push_back(JobStore::make_new_job(demo::SendEmail{"user" + std::to_string(i) + "@example.com", "Welcome"}));
        } else if (p < 9300) {
            jobs.push_back(JobStore::make_new_job(demo::ResizeImage{"https://example.com/" + std::to_string(i) + ".png", 640}));
        } else if (p < 9950) {
            jobs.push_back(JobStore::make_new_job(
                demo::ChargeCard{"acct-" + std::to_string(i), 1999, static_cast<std::int64_t>(1 + p % 2)}));
        } else if (p < 9960) {
            // Slow jobs get a queue of their own, so they never hold up the quick ones.
            jobs.push_back(
                JobStore::make_new_job(demo::GenerateReport{static_cast<std::int64_t>(i), 2.5}, {.queue = "reports"}));
        } else {
            jobs.push_back(JobStore::make_new_job(demo::PoisonPill{"corrupt input"}, {.max_retries = 5}));
        }
    }
    return jobs;
}

// Writes one batch, riding out a database restart. A batch whose write was
// cut off is written again with the same ids; if the cut-off write had
// committed, the retry meets its own rows (a unique violation) and the batch
// is done. One statement per batch: never half written, never twice.
void enqueue_surviving_restarts(seesaw::PgJobStore& store, const std::vector<seesaw::NewJob>& jobs) {
    auto delay = 100ms;
    bool retried = false;
    for (int attempt = 1;; ++attempt) {
        try {
            store.enqueue_batch(jobs);
            return;
        } catch (const seesaw::ConnectionError& e) {
            if (attempt == 40) throw;
            std::cerr << "demo: enqueue cut off, retrying: " << e.what() << "\n";
            retried = true;
        } catch (const seesaw::ConstraintError& e) {
            if (retried && e.sqlstate() == "23505" && store.get_job(jobs.front().id)) return;
            throw;
        }
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(2000));
    }
}

int run_enqueue(const std::string& url, const std::string& schema, std::size_t count, bool wait) {
    seesaw::PgPool pool(url);
    seesaw::migrate(pool, schema);
    ensure_runs_table(pool, schema);
    seesaw::PgJobStore store(pool, {.schema = schema});
    std::mt19937_64 random(42);
    constexpr std::size_t batch = 500;
    auto started = std::chrono::steady_clock::now();
    for (std::size_t done = 0; done < count; done += batch) {
        auto jobs = demo_mix(done, std::min(batch, count - done), random);
        enqueue_surviving_restarts(store, jobs);  // one statement per batch
    }
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "enqueued " << count << " jobs in " << took << " s\n";
    if (!wait) return 0;

    // The live progress line, until nothing is pending, running or waiting to retry.
    auto start = std::chrono::steady_clock::now();
    while (true) {
        seesaw::QueueStats s;
        try {
            s = store.stats();
        } catch (const seesaw::ConnectionError& e) {
            std::fprintf(stderr, "\r  waiting for the database: %s\n", e.what());
            std::this_thread::sleep_for(500ms);
            continue;
        }
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "\r  %6.1f s  pending %6lld  running %4lld  retrying %4lld  succeeded %6lld  dead %4lld  ",
                     elapsed, static_cast<long long>(s.pending), static_cast<long long>(s.running),
                     static_cast<long long>(s.failed), static_cast<long long>(s.succeeded),
                     static_cast<long long>(s.dead_letter));
        // The periodic demo_tick jobs keep coming: the wait is for the others.
        const auto ticks = store.stats_by_queue()["ticks"];
        if (s.pending + s.running + s.failed - ticks.pending - ticks.running - ticks.failed == 0) break;
        std::this_thread::sleep_for(200ms);
    }
    std::fprintf(stderr, "\n");
    return 0;
}

int run_summary(const std::string& url, const std::string& schema) {
    auto conn = seesaw::Connection::open(url);
    auto s = seesaw::quote_identifier(schema);
    auto r = conn.execute(
        "WITH first_run AS (SELECT job_id, min(started_us) AS started_us FROM " + s + ".demo_runs GROUP BY job_id),"
        " lat AS (SELECT (f.started_us - (extract(epoch FROM j.created_at) * 1000000)::bigint) AS us"
        "         FROM " + s + ".jobs j JOIN first_run f ON f.job_id = j.id)"
        " SELECT (SELECT count(*) FROM " + s + ".jobs),"
        "  (SELECT count(*) FROM " + s + ".jobs WHERE status = 'succeeded'),"
        "  (SELECT count(*) FROM " + s + ".jobs WHERE status = 'dead_letter'),"
        "  (SELECT count(*) FROM " + s + ".demo_runs WHERE outcome = 'retry'),"
        "  (SELECT extract(epoch FROM max(updated_at) - min(created_at)) FROM " + s + ".jobs WHERE queue = 'default'),"
        "  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM lat)::bigint,"
        "  (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY us) FROM lat)::bigint,"
        "  (SELECT count(*) FROM " + s + ".demo_runs)");
    auto total = r.get_int64(0, 0), succeeded = r.get_int64(0, 1), dead = r.get_int64(0, 2),
         retries = r.get_int64(0, 3), runs = r.get_int64(0, 7);
    double seconds = std::stod(std::string(r.get(0, 4)));
    // Exactly once. A succeeded job has exactly one counted successful run
    // (a run whose result the dispatcher fenced out, its lease lost, does
    // not count); a dead letter none; nothing is left unfinished; no attempt
    // of a job ran on two workers (a double claim). A worker that was killed
    // (no clean stop in demo_workers) loses the runs it had not written, and
    // may have run a job whose result it never wrote, which then ran again
    // elsewhere: those are reported, not failures.
    auto check = conn.execute(
        "WITH runs AS ("
        "   SELECT r.job_id, r.attempt, r.worker, r.outcome,"
        "          EXISTS (SELECT 1 FROM " + s + ".demo_runs l WHERE l.outcome = 'lease_lost' AND l.job_id = r.job_id"
        "                  AND l.attempt = r.attempt AND l.worker = r.worker) AS lost,"
        "          coalesce((SELECT w.stopped_cleanly FROM " + s + ".demo_workers w WHERE w.worker = r.worker), true)"
        "            AS clean"
        "   FROM " + s + ".demo_runs r WHERE r.outcome <> 'lease_lost'),"
        " ok AS (SELECT job_id, count(*) AS n, count(*) FILTER (WHERE clean) AS n_clean FROM runs"
        "        WHERE outcome = 'succeeded' AND NOT lost GROUP BY job_id),"
        " killed AS (SELECT worker FROM " + s + ".demo_workers WHERE NOT stopped_cleanly)"
        " SELECT count(*) FILTER (WHERE j.status = 'succeeded' AND coalesce(ok.n, 0) = 0"
        "                         AND j.worker_id NOT IN (SELECT worker FROM killed)),"
        "        count(*) FILTER (WHERE j.status = 'succeeded' AND ok.n_clean > 1),"
        "        count(*) FILTER (WHERE j.status = 'dead_letter' AND coalesce(ok.n_clean, 0) <> 0),"
        "        count(*) FILTER (WHERE j.status NOT IN ('succeeded', 'dead_letter')"
        "                         AND NOT (j.queue = 'ticks' AND j.status = 'pending')),"
        "        (SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY job_id, attempt"
        "                               HAVING count(DISTINCT worker) > 1) AS d),"
        "        count(*) FILTER (WHERE j.status = 'succeeded' AND coalesce(ok.n, 0) = 0"
        "                         AND j.worker_id IN (SELECT worker FROM killed)),"
        "        count(*) FILTER (WHERE j.status = 'succeeded' AND ok.n > 1 AND ok.n_clean <= 1),"
        "        (SELECT count(*) FROM killed)"
        " FROM " + s + ".jobs j LEFT JOIN ok ON ok.job_id = j.id");
    auto no_success = check.get_int64(0, 0), twice = check.get_int64(0, 1), wrong_dead = check.get_int64(0, 2),
         unfinished = check.get_int64(0, 3), double_claims = check.get_int64(0, 4),
         unrecorded = check.get_int64(0, 5), rerun = check.get_int64(0, 6), killed = check.get_int64(0, 7);
    // The charges, written in the handlers' transactions: exactly one per
    // succeeded charge_card job, none for any other.
    auto charges = conn.execute(
        "SELECT (SELECT count(*) FROM " + s + ".demo_charges),"
        "  (SELECT count(*) FROM " + s + ".jobs j WHERE j.job_type = 'charge_card' AND j.status = 'succeeded'"
        "     AND (SELECT count(*) FROM " + s + ".demo_charges c WHERE c.job_id = j.id) <> 1),"
        "  (SELECT count(*) FROM " + s + ".demo_charges c WHERE NOT EXISTS (SELECT 1 FROM " + s + ".jobs j"
        "     WHERE j.id = c.job_id AND j.status = 'succeeded'))");
    const auto charge_rows = charges.get_int64(0, 0), charge_missing = charges.get_int64(0, 1),
               charge_stray = charges.get_int64(0, 2);
    auto workers = conn.execute("SELECT worker, count(*) FROM " + s + ".demo_runs GROUP BY worker ORDER BY worker");
    auto default_jobs = conn.execute("SELECT count(*) FROM " + s + ".jobs WHERE queue = 'default'").get_int64(0, 0);
    // One demo_tick per slot of the periodic schedule, whatever the number of workers.
    auto ticks = conn.execute("SELECT count(*), count(DISTINCT unique_key) FROM " + s +
                              ".jobs WHERE job_type = 'demo_tick'");

    std::printf("\nseesaw demo summary (schema %s)\n", schema.c_str());
    std::printf("  jobs            %lld (%lld succeeded, %lld dead-lettered)\n", static_cast<long long>(total),
                static_cast<long long>(succeeded), static_cast<long long>(dead));
    std::printf("  handler runs    %lld (%lld retries)\n", static_cast<long long>(runs), static_cast<long long>(retries));
    std::printf("  throughput      %.0f jobs/s on queue 'default' (%lld jobs, first insert to last result %.2f s;\n"
                "                  the slow reports run on queue 'reports')\n",
                seconds > 0 ? static_cast<double>(default_jobs) / seconds : 0.0, static_cast<long long>(default_jobs),
                seconds);
    std::printf("  latency         p50 %.2f ms, p99 %.2f ms (insert to first handler start; includes the backlog)\n",
                static_cast<double>(r.get_int64(0, 5)) / 1000.0, static_cast<double>(r.get_int64(0, 6)) / 1000.0);
    for (std::size_t i = 0; i < workers.rows(); ++i) {
        std::printf("  worker          %s ran %lld\n", std::string(workers.get(i, 0)).c_str(),
                    static_cast<long long>(workers.get_int64(i, 1)));
    }
    std::printf("  periodic        %lld demo_tick jobs for %lld slots of \"@every 1s\" (ticks still waiting for "
                "a worker do not count as unfinished)\n",
                static_cast<long long>(ticks.get_int64(0, 0)), static_cast<long long>(ticks.get_int64(0, 1)));
    std::printf("  charges         %lld rows written in the handlers' transactions: %lld succeeded charge_card jobs "
                "without exactly one, %lld rows of a job that did not succeed\n",
                static_cast<long long>(charge_rows), static_cast<long long>(charge_missing),
                static_cast<long long>(charge_stray));
    bool ok = no_success == 0 && twice == 0 && wrong_dead == 0 && unfinished == 0 && double_claims == 0 &&
              ticks.get_int64(0, 0) == ticks.get_int64(0, 1) && charge_missing == 0 && charge_stray == 0;
    std::printf("  exactly once    %s (%lld succeeded without a successful run, %lld succeeded twice, %lld dead letters "
                "with a success, %lld unfinished, %lld attempts run on two workers)\n",
                ok ? "OK" : "FAILED", static_cast<long long>(no_success), static_cast<long long>(twice),
                static_cast<long long>(wrong_dead), static_cast<long long>(unfinished),
                static_cast<long long>(double_claims));
    if (killed > 0) {
        std::printf("  killed workers  %lld: %lld of their runs went unrecorded, %lld jobs they ran without writing "
                    "the result ran again elsewhere (at least once, as a lease promises)\n",
                    static_cast<long long>(killed), static_cast<long long>(unrecorded), static_cast<long long>(rerun));
    }
    return ok ? 0 : 1;
}

int run_reset(const std::string& url, const std::string& schema) {
    auto conn = seesaw::Connection::open(url);
    conn.execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(schema) + " CASCADE");
    auto result = seesaw::migrate(conn, schema);
    seesaw::PgPool pool(url);
    ensure_runs_table(pool, schema);
    std::cerr << "schema " << schema << " reset: " << result.applied.size() << " migrations applied\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"seesaw-demo: producers and workers in separate processes sharing one PostgreSQL database"};
    app.require_subcommand(1);
    const char* env_url = std::getenv("SEESAW_DATABASE_URL");
    std::string url = env_url != nullptr ? env_url : "";
    std::string schema = "seesaw_demo";
    auto common = [&](CLI::App* cmd) {
        cmd->add_option("--database-url", url, "PostgreSQL URL (default: $SEESAW_DATABASE_URL)");
        cmd->add_option("--schema", schema, "schema of the demo's tables")->capture_default_str();
    };
    std::size_t workers = 8;
    std::string metrics;
    std::string retain_succeeded;
    std::size_t count = 10000;
    bool wait = false;
    auto* reset = app.add_subcommand("reset", "drop and re-create the demo schema");
    auto* worker = app.add_subcommand("worker", "run a dispatcher until SIGINT/SIGTERM, then stop gracefully");
    worker->add_option("--workers", workers, "handler threads")->capture_default_str()->check(CLI::Range(1, 512));
    worker->add_option("--metrics-listen", metrics, "serve Prometheus metrics, e.g. 127.0.0.1:9464");
    Connecting connecting;
    auto* listen_url = worker->add_option(
        "--listen-database-url", connecting.listen_url,
        "a direct URL for the one LISTEN connection, when --database-url is a pooler in transaction mode (PgBouncer)");
    worker->add_flag("--poll-only", connecting.poll_only, "no LISTEN: find new jobs by polling only (behind a pooler)")
        ->excludes(listen_url);
    worker->add_option("--poll-interval", connecting.poll_interval_ms, "milliseconds between polls")
        ->capture_default_str()
        ->check(CLI::Range(1, 3'600'000));
    worker->add_flag("--transaction-pooling", connecting.transaction_pooling,
                     "--database-url is a pooler in transaction mode (PgBouncer): no prepared statements, no "
                     "session settings, one statement at a time per connection");
    worker->add_option("--retain-succeeded", retain_succeeded,
                       "delete succeeded jobs this long after they finished, e.g. 30s, 10m, 1h (default 24h)")
        ->type_name("DURATION");
    auto* enqueue = app.add_subcommand("enqueue", "enqueue a mix of demo jobs");
    enqueue->add_option("count", count, "how many jobs")->required()->check(CLI::Range(1, 100000000));
    enqueue->add_flag("--wait", wait, "show live progress until every job has finished");
    auto* summary = app.add_subcommand("summary", "report throughput, latency, retries and the exactly-once check");
    for (auto* cmd : {reset, worker, enqueue, summary}) common(cmd);
    CLI11_PARSE(app, argc, argv);
    if (url.empty()) {
        std::cerr << "seesaw-demo: no database: pass --database-url or set SEESAW_DATABASE_URL\n";
        return 2;
    }
    try {
        if (*reset) return run_reset(url, schema);
        if (*worker) {
            seesaw::RetentionOptions retention;
            if (!retain_succeeded.empty()) {
                retention.succeeded = parse_duration(retain_succeeded);
                if (!retention.succeeded) {
                    std::cerr << "seesaw-demo: --retain-succeeded '" << retain_succeeded
                              << "': expected a whole number and a unit s, m, h or d (e.g. 30s)\n";
                    return 2;
                }
            }
            return run_worker(url, schema, workers, metrics, retention, connecting);
        }
        if (*enqueue) return run_enqueue(url, schema, count, wait);
        return run_summary(url, schema);
    } catch (const seesaw::Error& e) {
        std::cerr << "seesaw-demo: " << e.what() << "\n";
        return 1;
    }
}

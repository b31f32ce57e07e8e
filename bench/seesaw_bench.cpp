// seesaw-bench: end-to-end benchmarks against a real PostgreSQL.
//
//   seesaw-bench --database-url URL [--schema S] --mode latency|throughput|steady|floor|stats|prune
//                [--jobs N] [--workers N] [--producers N] [--producer-jobs N] [--rate R] [--payload-bytes B]
//                [--runs K] [--background-jobs N] [--prefetch P] [--durable-claims BOOL] [--variants BOOL] [--keep]
//
// Prints one JSON object per line on stdout (DESIGN.md §6):
//   {"system":"seesaw","metric":"latency_p50","value":412,"unit":"us","params":{...}}
// and a human table on stderr. Latency is from just before the enqueue call
// to the moment the handler starts, on one clock (steady_clock, one process).
// latency: each round enqueues one job through another store (the normal
// path) and one through the dispatcher's own (the in-process fast path),
// each next to its floor. throughput: --jobs enqueued in bulk and drained;
// then (--variants, the default) --producers × --producer-jobs single-job
// enqueues by producers in the dispatcher's process, without and with the
// fast path, and 20,000 jobs whose handler inserts a row on its own
// connection and in its transaction (completion in the handler's
// transaction).
// prune: --jobs succeeded jobs two days old while --producers threads enqueue
// single jobs and the dispatcher runs them, with retention off and on (24 h
// for succeeded jobs) in the same run: the producers' enqueue p50/p99 and the
// process rate of both, and how far the prune got.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "redact.hpp"
#include "seesaw/seesaw.hpp"

namespace bench {

struct Noop {
    std::int64_t seq = 0;
    std::string pad;
};

}  // namespace bench

template <>
struct seesaw::JobTraits<bench::Noop> {
    static constexpr std::string_view name = "bench_noop";
    static void encode(const bench::Noop& job, PayloadWriter& out) { out.field("seq", job.seq).field("pad", job.pad); }
    static bench::Noop decode(const PayloadReader& in) { return {in.int64("seq"), {}}; }
};

namespace bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using seesaw::Connection;

struct Options {
    std::string url;
    std::string schema = "seesaw_bench";
    std::string mode;
    std::int64_t jobs = -1;  // per mode default
    std::size_t workers = 8;
    std::size_t producers = 8;
    std::int64_t producer_jobs = 2500;  // prune, throughput variants: single-job enqueues per producer
    double rate = 200;
    std::size_t payload_bytes = 64;
    int runs = 1;
    std::int64_t background_jobs = 0;
    std::int64_t prefetch = -1;  // -1: the dispatcher's default (adaptive)
    bool durable_claims = true;
    bool keep = false;
    bool variants = true;  // throughput: the in-process and transactional-completion figures too
    std::string cdf_dir;  // where to write latency distributions for plots
};

std::int64_t ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    double rank = p * static_cast<double>(values.size() - 1);
    auto lo = static_cast<std::size_t>(rank);
    auto hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

// The process's peak RSS since the last reset_peak_rss(), in MiB.
double peak_rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}
void reset_peak_rss() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
}

// --- output -------------------------------------------------------------------

class Report {
public:
    explicit Report(const Options& o) : options_(o) {}

    void set_param(const std::string& key, const std::string& value) { text_params_[key] = value; }
    void set_param(const std::string& key, double value) { number_params_[key] = value; }

    void emit(const std::string& metric, double value, const std::string& unit) {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
        w.StartObject();
        w.Key("system");
        w.String(system_.c_str());
        w.Key("metric");
        w.String(metric.c_str());
        w.Key("value");
        w.Double(std::round(value * 100.0) / 100.0);
        w.Key("unit");
        w.String(unit.c_str());
        w.Key("params");
        w.StartObject();
        for (const auto& [k, v] : text_params_) {
            w.Key(k.c_str());
            w.String(v.c_str());
        }
        for (const auto& [k, v] : number_params_) {
            w.Key(k.c_str());
            if (v == std::floor(v) && std::abs(v) < 9e15)
                w.Int64(static_cast<std::int64_t>(v));
            else
                w.Double(v);
        }
        w.EndObject();
        w.EndObject();
        std::printf("%s\n", buffer.GetString());
        std::fflush(stdout);
        std::fprintf(stderr, "  %-34s %14.2f %s\n", metric.c_str(), value, unit.c_str());
    }
    void set_system(std::string system) { system_ = std::move(system); }

private:
    const Options& options_;
    std::string system_ = "seesaw";
    std::map<std::string, std::string> text_params_;
    std::map<std::string, double> number_params_;
};

// --- database helpers ------------------------------------------------------------------

std::string setting(Connection& conn, const std::string& name) { return std::string(conn.execute("SHOW " + name).get(0, 0)); }

void fresh_schema(const Options& o) {
    auto conn = Connection::open(o.url);
    conn.execute("SET client_min_messages TO warning");
    conn.execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(o.schema) + " CASCADE");
    seesaw::migrate(conn, o.schema);
}

void drop_schema(const Options& o) {
    if (o.keep) return;
    auto conn = Connection::open(o.url);
    conn.execute("SET client_min_messages TO warning");
    conn.execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(o.schema) + " CASCADE");
}

// Other jobs in the table: pending in another queue, succeeded, dead letter.
void add_background_jobs(const Options& o) {
    if (o.background_jobs <= 0) return;
    auto started = Clock::now();
    auto conn = Connection::open(o.url);
    auto jobs = seesaw::quote_identifier(o.schema) + ".jobs";
    auto third = std::to_string(o.background_jobs / 3);
    auto rest = std::to_string(o.background_jobs - 2 * (o.background_jobs / 3));
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, queue) SELECT 'background', '{\"n\": 1}', 'background'"
                 " FROM generate_series(1, " + rest + ")");
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, status, updated_at) SELECT 'background', '{\"n\": 1}',"
                 " 'succeeded', now() FROM generate_series(1, " + third + ")");
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, status, error_message, error_kind) SELECT 'background',"
                 " '{\"n\": 1}', 'dead_letter', 'background', 'non_retryable' FROM generate_series(1, " + third + ")");
    conn.execute("ANALYZE " + jobs);
    std::fprintf(stderr, "  (added %lld background jobs in %.1f s)\n", static_cast<long long>(o.background_jobs),
                 std::chrono::duration<double>(Clock::now() - started).count());
}

seesaw::DispatcherOptions dispatcher_options(const Options& o) {
    seesaw::DispatcherOptions d;
    std::optional<std::size_t> prefetch;  // adaptive unless given
    if (o.prefetch >= 0) prefetch = static_cast<std::size_t>(o.prefetch);
    d.queues = {seesaw::QueueOptions("default", o.workers, prefetch)};
    d.durable_claims = o.durable_claims;
    return d;
}

std::string pad(std::size_t payload_bytes) {
    // {"seq":123456,"pad":"…"} is about 24 bytes without the padding.
    return std::string(payload_bytes > 24 ? payload_bytes - 24 : 0, 'x');
}

// Counts successes and remembers when the last one was written.
struct Completions {
    std::mutex mutex;
    std::condition_variable cv;
    std::int64_t count = 0;
    Clock::time_point last{};

    void add() {
        {
            std::lock_guard lock(mutex);
            ++count;
            last = Clock::now();
        }
        cv.notify_all();
    }
    bool wait_for(std::int64_t n, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return count >= n; });
    }
};

// Per-job timestamps (ns, steady clock), indexed by seq.
struct Timeline {
    explicit Timeline(std::size_t n)
        : before_enqueue(n), after_enqueue(n), notified(n), claimed(n), started(n) {}
    std::vector<std::atomic<std::int64_t>> before_enqueue, after_enqueue, notified, claimed, started;
};

// Writes a latency distribution: "latency_us fraction" per line, sorted.
void write_cdf(const Options& o, const std::string& name, std::vector<double> values) {
    if (o.cdf_dir.empty() || values.empty()) return;
    std::sort(values.begin(), values.end());
    std::ofstream out(o.cdf_dir + "/" + name + ".dat");
    out << "# " << name << ": latency_us fraction\n";
    const std::size_t step = std::max<std::size_t>(1, values.size() / 1000);
    for (std::size_t i = 0; i < values.size(); i += step)
        out << values[i] << " " << static_cast<double>(i + 1) / static_cast<double>(values.size()) << "\n";
    out << values.back() << " 1\n";
}

std::vector<double> report_latency(Report& r, const Timeline& t, std::size_t first, std::size_t n,
                                   const std::string& prefix, bool breakdown) {
    std::vector<double> latency, commit, notify_to_claim, claim_to_start;
    for (std::size_t i = first; i < first + n; ++i) {
        auto b = t.before_enqueue[i].load(), s = t.started[i].load();
        if (b == 0 || s == 0) continue;
        latency.push_back(static_cast<double>(s - b) / 1000.0);
        commit.push_back(static_cast<double>(t.after_enqueue[i].load() - b) / 1000.0);
        if (auto c = t.claimed[i].load(); c != 0) {
            claim_to_start.push_back(static_cast<double>(s - c) / 1000.0);
            if (auto w = t.notified[i].load(); w != 0 && w <= c) notify_to_claim.push_back(static_cast<double>(c - w) / 1000.0);
        }
    }
    r.emit(prefix + "latency_p50", percentile(latency, 0.5), "us");
    r.emit(prefix + "latency_p90", percentile(latency, 0.9), "us");
    r.emit(prefix + "latency_p99", percentile(latency, 0.99), "us");
    r.emit(prefix + "latency_max", latency.empty() ? 0 : *std::max_element(latency.begin(), latency.end()), "us");
    if (breakdown) {
        r.emit(prefix + "enqueue_commit_us", median(commit), "us");
        r.emit(prefix + "notify_to_claim_us", median(notify_to_claim), "us");
        r.emit(prefix + "claim_to_start_us", median(claim_to_start), "us");
        r.emit(prefix + "enqueue_commit_p99_us", percentile(commit, 0.99), "us");
        r.emit(prefix + "notify_to_claim_p99_us", percentile(notify_to_claim, 0.99), "us");
        r.emit(prefix + "claim_to_start_p99_us", percentile(claim_to_start, 0.99), "us");
    }
    return latency;
}

// --- floor ---------------------------------------------------------------------------------

PGconn* open_raw(const std::string& url) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        std::string reason = seesaw::detail::redact(PQerrorMessage(c), url);
        PQfinish(c);
        throw std::runtime_error(reason);
    }
    return c;
}

void exec_raw(PGconn* c, const std::string& sql) {
    PGresult* res = PQexec(c, sql.c_str());
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string error = PQresultErrorMessage(res);
        PQclear(res);
        throw std::runtime_error(error + " in: " + sql);
    }
    PQclear(res);
}

// Blocks until a notification arrives on c.
void wait_notify(PGconn* c) {
    while (true) {
        PQconsumeInput(c);
        if (PGnotify* n = PQnotifies(c)) {
            PQfreemem(n);
            return;
        }
        pollfd fd{PQsocket(c), POLLIN, 0};
        poll(&fd, 1, 5000);
    }
}

// The physical floor of a job queue's latency on this server: a producer
// connection inserts a row and NOTIFYs in one commit; a listening connection
// wakes and claims the row with SKIP LOCKED (asynchronous commit, like
// seesaw's claim connection). No triggers, no extra columns.
class FloorProbe {
public:
    FloorProbe(const Options& o, const std::string& table_name)
        : table_(seesaw::quote_identifier(o.schema) + "." + table_name), a_(open_raw(o.url)), b_(open_raw(o.url)) {
        exec_raw(a_, "CREATE TABLE IF NOT EXISTS " + table_ +
                         " (id bigserial PRIMARY KEY, state int NOT NULL DEFAULT 0, payload jsonb)");
        exec_raw(a_, "CREATE INDEX IF NOT EXISTS " + table_name + "_ready ON " + table_ + " (id) WHERE state = 0");
        exec_raw(b_, "SET synchronous_commit = off");
        channel_ = "seesaw_floor_" + table_name;
        exec_raw(b_, "LISTEN " + channel_);
        claim_ = "UPDATE " + table_ + " SET state = 1 WHERE id = (SELECT id FROM " + table_ +
                 " WHERE state = 0 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id";
    }
    ~FloorProbe() {
        PQfinish(a_);
        PQfinish(b_);
    }
    FloorProbe(const FloorProbe&) = delete;
    FloorProbe& operator=(const FloorProbe&) = delete;

    // Insert + NOTIFY commit → wake-up → claim, in microseconds.
    double e2e_us() {
        auto t0 = Clock::now();
        exec_raw(a_, "INSERT INTO " + table_ + " (payload) VALUES ('{\"n\": 1}'); NOTIFY " + channel_);
        wait_notify(b_);
        exec_raw(b_, claim_);
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    double insert_commit_us() {
        auto t0 = Clock::now();
        exec_raw(a_, "INSERT INTO " + table_ + " (payload) VALUES ('{\"n\": 1}')");
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    // The same for a row of seesaw's jobs table (its indexes and insert
    // trigger), finished already and in a queue of its own, so that nothing
    // runs it: what any enqueue of a job costs before a dispatcher sees it.
    double job_insert_commit_us(const std::string& jobs_table) {
        auto t0 = Clock::now();
        exec_raw(a_, "INSERT INTO " + jobs_table + " (job_type, payload, queue, status)"
                     " VALUES ('floor', '{\"n\": 1}', 'floor', 'succeeded')");
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    double claim_us() {
        auto t0 = Clock::now();
        exec_raw(b_, claim_);
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    double notify_us() {
        auto t0 = Clock::now();
        exec_raw(a_, "NOTIFY " + channel_);
        wait_notify(b_);
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    PGconn* producer() { return a_; }
    PGconn* claimer() { return b_; }
    const std::string& table() const { return table_; }

private:
    std::string table_;
    PGconn* a_;
    PGconn* b_;
    std::string channel_;
    std::string claim_;
};

// --- latency -------------------------------------------------------------------------

// Each round enqueues one job the normal way (through a store the
// dispatcher is not attached to, as from another process: insert + commit,
// NOTIFY, claim) and one through the dispatcher's own store (the in-process
// fast path: inserted running, handed over in memory), each followed by its
// floor: insert + NOTIFY → wake-up → claim for the first, a bare single-row
// insert + commit for the second.
void run_latency(const Options& o, Report& r) {
    const auto jobs = static_cast<std::size_t>(o.jobs > 0 ? o.jobs : 2000);
    constexpr std::size_t warmup = 50;
    seesaw::PgPool pool(o.url, {.max_connections = 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    seesaw::PgJobStore remote(pool, {.schema = o.schema});  // not the dispatcher's: the normal path
    auto options = dispatcher_options(o);
    seesaw::Dispatcher dispatcher(store, options);
    // Normal-path jobs are seq [warmup, warmup + jobs), fast-path ones the next jobs.
    Timeline t(warmup + 2 * jobs);
    std::atomic<std::int64_t> fast_handed_over{0};
    Completions done;
    std::atomic<std::int64_t> last_notify{0};
    std::mutex ids_mutex;
    std::unordered_map<seesaw::JobId, std::size_t> seq_of;  // guarded by ids_mutex

    dispatcher.on<Noop>([&](const Noop& job, seesaw::JobContext&) {
        t.started[static_cast<std::size_t>(job.seq)].store(ns(Clock::now()));
    });
    auto s1 = dispatcher.events().subscribe<seesaw::NotificationReceived>(
        [&](const seesaw::NotificationReceived&) { last_notify.store(ns(Clock::now())); });
    auto s2 = dispatcher.events().subscribe<seesaw::JobClaimed>([&](const seesaw::JobClaimed& e) {
        auto now = ns(Clock::now());
        std::lock_guard lock(ids_mutex);
        if (auto it = seq_of.find(e.job.id); it != seq_of.end()) {
            t.claimed[it->second].store(now);
            t.notified[it->second].store(last_notify.load());
            if (e.fast_path && it->second >= warmup + jobs) ++fast_handed_over;
        }
    });
    auto s3 = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    reset_peak_rss();
    dispatcher.start();

    auto payload_pad = pad(o.payload_bytes);
    auto enqueue = [&](std::size_t seq, seesaw::PgJobStore& through) {
        // The id is made client-side; register it before the insert commits.
        auto job = seesaw::JobStore::make_new_job(Noop{static_cast<std::int64_t>(seq), payload_pad});
        {
            std::lock_guard lock(ids_mutex);
            seq_of.emplace(job.id, seq);
        }
        t.before_enqueue[seq].store(ns(Clock::now()));
        through.enqueue(job);
        t.after_enqueue[seq].store(ns(Clock::now()));
    };
    // Warm-up: connections, prepared statements, caches; both paths.
    for (std::size_t i = 0; i < warmup; ++i) {
        enqueue(i, i % 2 == 0 ? remote : store);
        done.wait_for(static_cast<std::int64_t>(i + 1), 30s);
    }
    // Each job is paired with one sample of the floor (the same steps done
    // bare, on connections of their own), so both see the same disk: on
    // shared machines the commit latency drifts by 10× within minutes. Both
    // start half an interval after the previous one ended, so both meet an
    // idle machine (a sample taken right after a job would find every cache
    // and CPU warm).
    FloorProbe floor(o, "latency_floor");
    std::vector<double> floor_us, insert_floor_us, job_insert_floor_us;
    const auto jobs_table = seesaw::quote_identifier(o.schema) + ".jobs";
    auto interval = std::chrono::duration<double>(1.0 / o.rate);
    auto half = std::chrono::duration_cast<Clock::duration>(interval / 2);
    auto start = Clock::now();
    std::int64_t finished = warmup;
    for (std::size_t i = 0; i < jobs; ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i)));
        enqueue(warmup + i, remote);
        done.wait_for(++finished, 30s);
        std::this_thread::sleep_for(half);
        floor_us.push_back(floor.e2e_us());
        std::this_thread::sleep_for(half);
        enqueue(warmup + jobs + i, store);
        done.wait_for(++finished, 30s);
        std::this_thread::sleep_for(half);
        insert_floor_us.push_back(floor.insert_commit_us());
        std::this_thread::sleep_for(half);
        job_insert_floor_us.push_back(floor.job_insert_commit_us(jobs_table));
    }
    if (!done.wait_for(finished, 120s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    double rss = peak_rss_mib();
    dispatcher.stop();
    auto latency = report_latency(r, t, warmup, jobs, "", true);
    r.emit("floor_e2e_us", median(floor_us), "us");
    r.emit("floor_e2e_p99_us", percentile(floor_us, 0.99), "us");
    r.emit("latency_p50_over_floor", median(latency) / median(floor_us), "ratio");
    r.emit("latency_p99_over_floor_p50", percentile(latency, 0.99) / median(floor_us), "ratio");
    r.emit("latency_p99_over_floor_p99", percentile(latency, 0.99) / percentile(floor_us, 0.99), "ratio");
    // The fast path, next to the bare insert + commit it cannot beat.
    std::vector<double> fast, fast_commit, fast_handover;
    for (std::size_t i = warmup + jobs; i < warmup + 2 * jobs; ++i) {
        auto b = t.before_enqueue[i].load(), a = t.after_enqueue[i].load(), s = t.started[i].load();
        if (b == 0 || s == 0) continue;
        fast.push_back(static_cast<double>(s - b) / 1000.0);
        fast_commit.push_back(static_cast<double>(a - b) / 1000.0);
        fast_handover.push_back(static_cast<double>(s - a) / 1000.0);
    }
    r.emit("latency_fast_p50", median(fast), "us");
    r.emit("latency_fast_p90", percentile(fast, 0.9), "us");
    r.emit("latency_fast_p99", percentile(fast, 0.99), "us");
    r.emit("fast_enqueue_commit_us", median(fast_commit), "us");
    r.emit("fast_commit_to_start_us", median(fast_handover), "us");
    r.emit("fast_path_share", static_cast<double>(fast_handed_over.load()) / static_cast<double>(jobs), "ratio");
    r.emit("floor_insert_commit_us", median(insert_floor_us), "us");
    r.emit("floor_insert_commit_p99_us", percentile(insert_floor_us, 0.99), "us");
    r.emit("floor_job_insert_commit_us", median(job_insert_floor_us), "us");
    r.emit("latency_fast_p50_over_insert_floor", median(fast) / median(insert_floor_us), "ratio");
    r.emit("latency_fast_p50_over_job_insert_floor", median(fast) / median(job_insert_floor_us), "ratio");
    r.emit("latency_fast_p50_over_normal_p50", median(fast) / median(latency), "ratio");
    r.emit("peak_rss_mib", rss, "MiB");
    write_cdf(o, "latency", latency);
    write_cdf(o, "latency_fast", fast);
    write_cdf(o, "floor", floor_us);
    write_cdf(o, "floor_insert", insert_floor_us);
    write_cdf(o, "floor_job_insert", job_insert_floor_us);
}

// --- throughput ------------------------------------------------------------------------

void run_throughput(const Options& o, Report& r) {
    const auto jobs = o.jobs > 0 ? o.jobs : 100000;
    seesaw::PgPool pool(o.url, {.max_connections = 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    auto payload_pad = pad(o.payload_bytes);

    constexpr std::int64_t batch = 10000;
    std::vector<seesaw::NewJob> buffer;
    double enqueue_seconds = 0;
    for (std::int64_t done = 0; done < jobs; done += batch) {
        buffer.clear();
        for (std::int64_t i = done; i < std::min(jobs, done + batch); ++i)
            buffer.push_back(seesaw::JobStore::make_new_job(Noop{i, payload_pad}));
        auto started = Clock::now();  // the statement, not building the job list
        store.enqueue_batch(buffer);
        enqueue_seconds += std::chrono::duration<double>(Clock::now() - started).count();
    }
    buffer = {};
    r.emit("enqueue_jobs_per_s", static_cast<double>(jobs) / enqueue_seconds, "jobs/s");
    {
        auto conn = Connection::open(o.url);
        conn.execute("VACUUM ANALYZE " + seesaw::quote_identifier(o.schema) + ".jobs");
    }

    seesaw::Dispatcher dispatcher(store, dispatcher_options(o));
    Completions done;
    dispatcher.on<Noop>([](const Noop&, seesaw::JobContext&) {});
    auto sub = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    reset_peak_rss();
    auto started = Clock::now();
    dispatcher.start();
    if (!done.wait_for(jobs, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    auto seconds = std::chrono::duration<double>(done.last - started).count();
    double rss = peak_rss_mib();
    dispatcher.stop();
    r.emit("process_jobs_per_s", static_cast<double>(jobs) / seconds, "jobs/s");
    r.emit("peak_rss_mib", rss, "MiB");
}

// Producers living in the dispatcher's process, each job enqueued in a
// transaction of its own through the dispatcher's store: with the fast path
// (inserted running, handed over in memory) or without (fast_path = false:
// insert, then a claim). Jobs/s from the first enqueue to the last success.
double inproc_producers_per_second(const Options& o, bool fast) {
    const auto jobs = static_cast<std::int64_t>(o.producers) * o.producer_jobs;
    seesaw::PgPool pool(o.url, {.max_connections = o.producers + 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    auto options = dispatcher_options(o);
    options.fast_path = fast;
    seesaw::Dispatcher dispatcher(store, options);
    Completions done;
    std::atomic<std::int64_t> handed_over{0};
    dispatcher.on<Noop>([](const Noop&, seesaw::JobContext&) {});
    auto s1 = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    auto s2 = dispatcher.events().subscribe<seesaw::JobClaimed>([&](const seesaw::JobClaimed& e) {
        if (e.fast_path) ++handed_over;
    });
    dispatcher.start();
    store.enqueue(Noop{-1, ""});  // connected before the clock starts
    done.wait_for(1, 30s);
    auto payload_pad = pad(o.payload_bytes);
    std::atomic<std::int64_t> next{0};
    auto started = Clock::now();
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < o.producers; ++p) {
        producers.emplace_back([&] {
            while (next.fetch_add(1) < jobs) store.enqueue(Noop{0, payload_pad});
        });
    }
    for (auto& p : producers) p.join();
    if (!done.wait_for(jobs + 1, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    auto seconds = std::chrono::duration<double>(done.last - started).count();
    dispatcher.stop();
    std::fprintf(stderr, "  (%s: %lld of %lld jobs handed over in memory)\n", fast ? "fast path" : "normal path",
                 static_cast<long long>(handed_over.load()), static_cast<long long>(jobs));
    return static_cast<double>(jobs) / seconds;
}

// A backlog drained by a handler that inserts one row: in its own
// transaction with the job's success (Dispatcher::on with a Transaction&),
// or on a connection of its own (autocommit), the success written after by
// the dispatcher. Jobs/s.
double completion_per_second(const Options& o, bool in_transaction) {
    const std::int64_t jobs = std::min<std::int64_t>(o.jobs > 0 ? o.jobs : 100000, 20000);
    const auto effects = seesaw::quote_identifier(o.schema) + ".bench_effects";
    seesaw::PgPool pool(o.url, {.max_connections = o.workers + 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    {
        auto conn = Connection::open(o.url);
        conn.execute("CREATE TABLE IF NOT EXISTS " + effects + " (job_id uuid NOT NULL, seq int8 NOT NULL)");
        conn.execute("TRUNCATE " + effects);
    }
    std::vector<seesaw::NewJob> buffer;
    auto payload_pad = pad(o.payload_bytes);
    for (std::int64_t i = 0; i < jobs; ++i) buffer.push_back(seesaw::JobStore::make_new_job(Noop{i, payload_pad}));
    store.enqueue_batch(buffer);
    buffer = {};
    const std::string insert = "INSERT INTO " + effects + " VALUES ($1::uuid, $2::int8)";
    seesaw::Dispatcher dispatcher(store, dispatcher_options(o));
    Completions done;
    if (in_transaction) {
        dispatcher.on<Noop>([&](const Noop& job, seesaw::JobContext& ctx, seesaw::Transaction& tx) {
            tx.connection().execute(insert, {ctx.id().to_string(), std::to_string(job.seq)});
        });
    } else {
        dispatcher.on<Noop>([&](const Noop& job, seesaw::JobContext& ctx) {
            thread_local std::optional<Connection> own;
            thread_local std::string own_url;
            if (!own || own_url != o.url) {
                own.emplace(Connection::open(o.url));
                own_url = o.url;
            }
            own->execute(insert, {ctx.id().to_string(), std::to_string(job.seq)});
        });
    }
    auto sub = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    auto started = Clock::now();
    dispatcher.start();
    if (!done.wait_for(jobs, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    auto seconds = std::chrono::duration<double>(done.last - started).count();
    dispatcher.stop();
    return static_cast<double>(jobs) / seconds;
}

// The throughput mode's other figures, each on a fresh schema, the two
// sides of each comparison back to back.
void run_throughput_variants(const Options& o, Report& r) {
    fresh_schema(o);
    double normal = inproc_producers_per_second(o, false);
    fresh_schema(o);
    double fast = inproc_producers_per_second(o, true);
    r.emit("inproc_normal_jobs_per_s", normal, "jobs/s");
    r.emit("inproc_fast_jobs_per_s", fast, "jobs/s");
    r.emit("inproc_fast_over_normal", fast / normal, "ratio");
    fresh_schema(o);
    double own = completion_per_second(o, false);
    fresh_schema(o);
    double tx = completion_per_second(o, true);
    r.emit("completion_own_connection_jobs_per_s", own, "jobs/s");
    r.emit("completion_in_transaction_jobs_per_s", tx, "jobs/s");
    r.emit("completion_in_transaction_over_own", tx / own, "ratio");
}

// --- steady ------------------------------------------------------------------------------

// The baseline wake-up: a plain NOTIFY in every inserting statement's commit.
void use_plain_notify(const Options& o) {
    auto conn = Connection::open(o.url);
    auto s = seesaw::quote_identifier(o.schema);
    conn.execute("CREATE OR REPLACE FUNCTION " + s + ".jobs_notify_insert() RETURNS trigger LANGUAGE plpgsql AS $$"
                 " DECLARE q text; BEGIN"
                 " FOR q IN SELECT DISTINCT queue FROM inserted_jobs LOOP"
                 "   PERFORM pg_notify(" + s + ".notify_channel(TG_TABLE_SCHEMA), q);"
                 " END LOOP; RETURN NULL; END $$");
}

double run_steady_once(const Options& o, Report& r, const std::string& prefix) {
    const auto jobs = static_cast<std::size_t>(o.jobs > 0 ? o.jobs : 50000);
    seesaw::PgPool pool(o.url, {.max_connections = o.producers + 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    // The producers stand for other processes: their store is not the
    // dispatcher's (no in-process fast path; see the throughput mode's).
    seesaw::PgJobStore own(pool, {.schema = o.schema});
    seesaw::Dispatcher dispatcher(own, dispatcher_options(o));
    Timeline t(jobs);
    Completions done;
    dispatcher.on<Noop>([&](const Noop& job, seesaw::JobContext&) {
        t.started[static_cast<std::size_t>(job.seq)].store(ns(Clock::now()));
    });
    auto sub = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    reset_peak_rss();
    dispatcher.start();
    {  // let the dispatcher connect before the clock starts
        auto warm = seesaw::JobStore::make_new_job(Noop{0, ""});
        store.enqueue(warm);
        done.wait_for(1, 30s);
    }
    std::atomic<std::size_t> next{0};
    auto payload_pad = pad(o.payload_bytes);
    auto started = Clock::now();
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < o.producers; ++p) {
        producers.emplace_back([&] {
            while (true) {
                auto seq = next.fetch_add(1);
                if (seq >= jobs) return;
                t.before_enqueue[seq].store(ns(Clock::now()));
                store.enqueue(Noop{static_cast<std::int64_t>(seq), payload_pad});
                t.after_enqueue[seq].store(ns(Clock::now()));
            }
        });
    }
    for (auto& p : producers) p.join();
    auto enqueued = Clock::now();
    if (!done.wait_for(static_cast<std::int64_t>(jobs) + 1, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    double rss = peak_rss_mib();
    auto seconds = std::chrono::duration<double>(done.last - started).count();
    dispatcher.stop();
    r.emit(prefix + "enqueue_jobs_per_s", static_cast<double>(jobs) / std::chrono::duration<double>(enqueued - started).count(),
           "jobs/s");
    r.emit(prefix + "process_jobs_per_s", static_cast<double>(jobs) / seconds, "jobs/s");
    auto latency = report_latency(r, t, 0, jobs, prefix, false);
    if (prefix.empty()) r.emit("peak_rss_mib", rss, "MiB");
    write_cdf(o, prefix.empty() ? "steady" : "steady_" + prefix.substr(0, prefix.size() - 1), latency);
    return static_cast<double>(jobs) / seconds;
}

// The same producers with no dispatcher running (nobody armed, so no
// NOTIFY): what the enqueue alone allows, with the jobs table's indexes and
// insert trigger, before anything claims or completes.
double enqueue_alone_per_second(const Options& o, double seconds) {
    seesaw::PgPool pool(o.url, {.max_connections = o.producers});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> total{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < o.producers; ++i) {
        threads.emplace_back([&] {
            std::int64_t mine = 0;
            auto payload_pad = pad(o.payload_bytes);
            while (!stop.load(std::memory_order_relaxed)) {
                store.enqueue(Noop{mine, payload_pad});
                ++mine;
            }
            total += mine;
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : threads) th.join();
    return static_cast<double>(total.load()) / seconds;
}

void run_steady(const Options& o, Report& r) {
    std::fprintf(stderr, "  the producers alone, nothing processing\n");
    r.emit("enqueue_alone_jobs_per_s", enqueue_alone_per_second(o, 3.0), "jobs/s");
    fresh_schema(o);
    add_background_jobs(o);
    // The same producers, with a plain NOTIFY in every commit.
    std::fprintf(stderr, "  baseline: plain NOTIFY in every commit\n");
    use_plain_notify(o);
    double baseline = run_steady_once(o, r, "baseline_notify_");
    fresh_schema(o);
    add_background_jobs(o);
    std::fprintf(stderr, "  seesaw\n");
    double ours = run_steady_once(o, r, "");
    r.emit("steady_over_baseline_notify", ours / baseline, "ratio");
}

// --- stats -------------------------------------------------------------------------------

// stats() on a big table: --jobs rows spread over the five states and four
// queues, against the seed's COUNT(*) GROUP BY over the same table.
void run_stats(const Options& o, Report& r) {
    reset_peak_rss();
    const auto jobs = o.jobs > 0 ? o.jobs : 1000000;
    auto conn = Connection::open(o.url);
    const auto table = seesaw::quote_identifier(o.schema) + ".jobs";
    auto started = Clock::now();
    conn.execute("INSERT INTO " + table + " (job_type, payload, queue, status, worker_id, lease_expires_at)"
                 " SELECT 'bench', '{\"n\": 1}', 'q' || (i % 4),"
                 " (ARRAY['pending', 'running', 'succeeded', 'failed', 'dead_letter'])[1 + i % 5]::" +
                 seesaw::quote_identifier(o.schema) + ".job_status,"
                 " CASE WHEN i % 5 = 1 THEN 'w' END, CASE WHEN i % 5 = 1 THEN now() + interval '1 hour' END"
                 " FROM generate_series(1, " + std::to_string(jobs) + ") AS i");
    conn.execute("VACUUM ANALYZE " + table);
    std::fprintf(stderr, "  (%lld jobs inserted in %.1f s)\n", static_cast<long long>(jobs),
                 std::chrono::duration<double>(Clock::now() - started).count());
    seesaw::PgPool pool(o.url, {.max_connections = 2});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    std::vector<double> ours, seed;
    seesaw::QueueStats last;
    for (int i = 0; i < 21; ++i) {
        auto t0 = Clock::now();
        last = store.stats();
        ours.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    for (int i = 0; i < 5; ++i) {
        auto t0 = Clock::now();
        conn.execute("SELECT status, count(*) FROM " + table + " GROUP BY status");
        seed.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    if (last.total() != jobs) {
        throw std::runtime_error("stats() counted " + std::to_string(last.total()) + " jobs, not " +
                                 std::to_string(jobs));
    }
    r.emit("stats_us", median(ours), "us");
    r.emit("seed_count_group_by_us", median(seed), "us");
    r.emit("peak_rss_mib", peak_rss_mib(), "MiB");
}

// --- prune -------------------------------------------------------------------------------

// `jobs` succeeded jobs last updated two days ago, one statement per chunk,
// then VACUUM ANALYZE and a CHECKPOINT: both variants start from the same
// settled table, no checkpoint left over from the preload falls into one
// variant's measurement by chance, and, as with real two-day-old rows, every
// heap page the deletes touch first costs a full-page image in the WAL.
void add_old_succeeded_jobs(const Options& o, std::int64_t jobs) {
    auto started = Clock::now();
    auto conn = Connection::open(o.url);
    const auto table = seesaw::quote_identifier(o.schema) + ".jobs";
    const auto two_days_ago = std::string("now() - interval '2 days'");
    constexpr std::int64_t chunk = 100000;
    for (std::int64_t first = 1; first <= jobs; first += chunk) {
        auto last = std::min(jobs, first + chunk - 1);
        conn.execute("INSERT INTO " + table + " (job_type, payload, status, run_at, created_at, updated_at)"
                     " SELECT 'bench_noop', jsonb_build_object('seq', i, 'pad', '" + pad(o.payload_bytes) + "'),"
                     " 'succeeded', " + two_days_ago + ", " + two_days_ago + ", " + two_days_ago +
                     " FROM generate_series(" + std::to_string(first) + ", " + std::to_string(last) + ") AS i");
    }
    conn.execute("VACUUM ANALYZE " + table);
    try {
        conn.execute("CHECKPOINT");
    } catch (const std::exception& e) {  // needs superuser or pg_checkpoint
        std::fprintf(stderr, "  (no CHECKPOINT: %s)\n", e.what());
    }
    std::fprintf(stderr, "  (%lld succeeded jobs two days old inserted in %.1f s)\n", static_cast<long long>(jobs),
                 std::chrono::duration<double>(Clock::now() - started).count());
}

std::int64_t count_old_succeeded(Connection& conn, const Options& o) {
    return std::stoll(std::string(conn.execute("SELECT count(*) FROM " + seesaw::quote_identifier(o.schema) +
                                               ".jobs WHERE status = 'succeeded'"
                                               " AND updated_at < now() - interval '1 day'")
                                      .get(0, 0)));
}

struct PruneVariant {
    double p50_us = 0, p99_us = 0, process_per_s = 0;
    std::optional<double> during_prune_p99_us;  // retention on, the enqueues the sweep overlapped
};

// One variant. The producers' connections are opened first (one warm-up job
// each); then the dispatcher (retention of succeeded jobs 24 h, or none at
// all) starts, becomes the maintenance leader, which starts the sweep at
// once, and runs the warm-up jobs; then --producers threads each enqueue
// --producer-jobs single jobs (one statement each) as fast as they can. Each
// enqueue call is timed; the process rate runs from the first enqueue to the
// last success. With retention on, the enqueues and successes while the
// sweep still ran are reported on their own too: a prune shorter than the
// producers' window leaves part of the window without any deletes.
PruneVariant run_prune_once(const Options& o, Report& r, bool prune, std::int64_t old_jobs) {
    const std::string prefix = prune ? "prune_on_" : "prune_off_";
    const auto per_producer = static_cast<std::size_t>(o.producer_jobs);
    const auto jobs = static_cast<std::int64_t>(per_producer * o.producers);
    const auto warmup = static_cast<std::int64_t>(o.producers);
    seesaw::PgPool pool(o.url, {.max_connections = o.producers + 4});
    seesaw::PgJobStore store(pool, {.schema = o.schema});
    auto options = dispatcher_options(o);
    options.retention = {.succeeded = seesaw::keep_forever, .cancelled = seesaw::keep_forever,
                         .dead_letter = seesaw::keep_forever};
    if (prune) options.retention.succeeded = std::chrono::hours(24);
    seesaw::PgJobStore own(pool, {.schema = o.schema});  // the producers' is not the dispatcher's
    seesaw::Dispatcher dispatcher(own, options);
    Completions done;
    std::vector<std::int64_t> succeeded_at;  // guarded by done.mutex
    succeeded_at.reserve(static_cast<std::size_t>(jobs + warmup));
    std::mutex prune_mutex;
    std::condition_variable prune_cv;
    std::optional<Clock::time_point> leader_at, pruned_at;  // guarded by prune_mutex
    std::uint64_t deleted = 0;                               // likewise
    dispatcher.on<Noop>([](const Noop&, seesaw::JobContext&) {});
    auto s1 = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) {
        {
            std::lock_guard lock(done.mutex);
            succeeded_at.push_back(ns(Clock::now()));
        }
        done.add();
    });
    auto s2 = dispatcher.events().subscribe<seesaw::LeadershipChanged>([&](const seesaw::LeadershipChanged& e) {
        {
            std::lock_guard lock(prune_mutex);
            if (e.leader && !leader_at) leader_at = Clock::now();
        }
        prune_cv.notify_all();
    });
    auto s3 = dispatcher.events().subscribe<seesaw::JobsDeleted>([&](const seesaw::JobsDeleted& e) {
        if (e.status != seesaw::JobStatus::succeeded) return;
        {
            std::lock_guard lock(prune_mutex);
            deleted += e.count;
            if (deleted >= static_cast<std::uint64_t>(old_jobs) && !pruned_at) pruned_at = Clock::now();
        }
        prune_cv.notify_all();
    });
    {  // the producers' connections, before the clock starts
        std::vector<std::thread> warm;
        for (std::int64_t p = 0; p < warmup; ++p) warm.emplace_back([&, p] { store.enqueue(Noop{-1 - p, ""}); });
        for (auto& w : warm) w.join();
    }
    auto conn = Connection::open(o.url);
    dispatcher.start();
    {
        std::unique_lock lock(prune_mutex);
        if (!prune_cv.wait_for(lock, 30s, [&] { return leader_at.has_value(); }))
            throw std::runtime_error("the dispatcher did not become the maintenance leader");
    }
    if (!done.wait_for(warmup, 60s)) throw std::runtime_error("timed out waiting for the warm-up jobs");

    // (start ns, latency us) of every enqueue, per producer.
    std::vector<std::vector<std::pair<std::int64_t, double>>> enqueues(o.producers);
    auto payload_pad = pad(o.payload_bytes);
    auto started = Clock::now();
    std::vector<std::thread> producers;
    for (std::size_t p = 0; p < o.producers; ++p) {
        enqueues[p].reserve(per_producer);
        producers.emplace_back([&, p] {
            for (std::size_t i = 0; i < per_producer; ++i) {
                auto t0 = Clock::now();
                store.enqueue(Noop{static_cast<std::int64_t>(p * per_producer + i), payload_pad});
                enqueues[p].emplace_back(ns(t0), std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            }
        });
    }
    for (auto& p : producers) p.join();
    auto enqueued = Clock::now();
    if (!done.wait_for(jobs + warmup, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    const auto seconds = std::chrono::duration<double>(done.last - started).count();
    const auto old_at_end = count_old_succeeded(conn, o);

    std::vector<double> all;
    all.reserve(static_cast<std::size_t>(jobs));
    for (const auto& v : enqueues)
        for (const auto& e : v) all.push_back(e.second);
    PruneVariant result{percentile(all, 0.5), percentile(all, 0.99), static_cast<double>(jobs) / seconds, std::nullopt};
    r.emit(prefix + "enqueue_p50_us", result.p50_us, "us");
    r.emit(prefix + "enqueue_p99_us", result.p99_us, "us");
    r.emit(prefix + "enqueue_max_us", *std::max_element(all.begin(), all.end()), "us");
    r.emit(prefix + "enqueue_jobs_per_s",
           static_cast<double>(jobs) / std::chrono::duration<double>(enqueued - started).count(), "jobs/s");
    r.emit(prefix + "process_jobs_per_s", result.process_per_s, "jobs/s");
    if (prune) {
        // The sweep publishes JobsDeleted when it ends: wait for the rest.
        std::unique_lock lock(prune_mutex);
        const bool finished_before_producers = pruned_at && *pruned_at <= enqueued;
        if (!prune_cv.wait_for(lock, 600s, [&] { return pruned_at.has_value(); }))
            throw std::runtime_error("timed out waiting for the prune to finish");
        std::fprintf(stderr, "  (the sweep started %.0f ms before the first enqueue)\n",
                     std::chrono::duration<double, std::milli>(started - *leader_at).count());
        // Counted from the sweep's start, a few ms before the first enqueue.
        r.emit("prune_on_deleted_in_window", static_cast<double>(old_jobs - old_at_end), "rows");
        r.emit("prune_on_deleted", static_cast<double>(deleted), "rows");
        const auto prune_seconds = std::chrono::duration<double>(*pruned_at - *leader_at).count();
        r.emit("prune_on_duration_s", prune_seconds, "s");
        r.emit("prune_on_rows_per_s", static_cast<double>(deleted) / prune_seconds, "rows/s");
        r.emit("prune_on_finished_before_producers", finished_before_producers ? 1 : 0, "bool");
        // The part of the window the sweep overlapped.
        const auto until = std::min(*pruned_at, done.last);
        r.emit("prune_on_overlap_s", std::max(0.0, std::chrono::duration<double>(until - started).count()), "s");
        std::vector<double> during;
        for (const auto& v : enqueues)
            for (const auto& e : v)
                if (e.first < ns(*pruned_at)) during.push_back(e.second);
        std::int64_t processed = 0;
        {
            std::lock_guard done_lock(done.mutex);
            processed = std::count_if(succeeded_at.begin(), succeeded_at.end(),
                                      [&](std::int64_t t) { return t >= ns(started) && t <= ns(until); });
        }
        if (during.size() >= 100 && until > started) {
            result.during_prune_p99_us = percentile(during, 0.99);
            r.emit("prune_on_during_prune_enqueue_p99_us", *result.during_prune_p99_us, "us");
            r.emit("prune_on_during_prune_process_jobs_per_s",
                   static_cast<double>(processed) / std::chrono::duration<double>(until - started).count(), "jobs/s");
        }
    } else if (old_at_end != old_jobs) {
        throw std::runtime_error("retention was off, yet " + std::to_string(old_jobs - old_at_end) +
                                 " old jobs went");
    }
    dispatcher.stop();
    return result;
}

// Off and on in the same run, in alternating order (off first in odd runs),
// each on a fresh schema with the same old jobs.
void run_prune(const Options& o, Report& r, int run) {
    const auto old_jobs = o.jobs > 0 ? o.jobs : 1000000;
    const bool on_first = run % 2 == 0;
    r.set_param("order", on_first ? "on,off" : "off,on");
    PruneVariant off, on;
    for (bool prune : {on_first, !on_first}) {
        if (prune != on_first) {  // main() prepared the schema for the first
            fresh_schema(o);
            add_background_jobs(o);
        }
        add_old_succeeded_jobs(o, old_jobs);
        std::fprintf(stderr, "  retention %s\n", prune ? "on (succeeded: 24 h)" : "off (keep_forever)");
        (prune ? on : off) = run_prune_once(o, r, prune, old_jobs);
    }
    r.emit("prune_p50_ratio", on.p50_us / off.p50_us, "ratio");
    r.emit("prune_p99_ratio", on.p99_us / off.p99_us, "ratio");
    r.emit("prune_process_ratio", on.process_per_s / off.process_per_s, "ratio");
    if (on.during_prune_p99_us) r.emit("prune_p99_during_prune_ratio", *on.during_prune_p99_us / off.p99_us, "ratio");
}

// --- floor (continued) -------------------------------------------------------------------

// Single-row inserts per second from n connections for `seconds`.
double inserts_per_second(const Options& o, const std::string& table, bool notify, std::size_t n, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> total{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i) {
        threads.emplace_back([&] {
            PGconn* c = open_raw(o.url);
            std::string sql = "INSERT INTO " + table + " (payload) VALUES ('{\"n\": 1}')";
            if (notify) sql += "; NOTIFY seesaw_floor_insert";
            std::int64_t mine = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                exec_raw(c, sql);
                ++mine;
            }
            total += mine;
            PQfinish(c);
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : threads) th.join();
    return static_cast<double>(total.load()) / seconds;
}

double fdatasync_per_second(double seconds) {
    char path[] = "/tmp/seesaw-bench-fsync.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    unlink(path);
    std::vector<char> block(8192, 'x');
    std::int64_t n = 0;
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < until) {
        if (pwrite(fd, block.data(), block.size(), 0) < 0) break;
        fdatasync(fd);
        ++n;
    }
    close(fd);
    return static_cast<double>(n) / seconds;
}

void run_floor(const Options& o, Report& r) {
    reset_peak_rss();
    const int samples = static_cast<int>(o.jobs > 0 ? o.jobs : 1000);
    FloorProbe probe(o, "floor_jobs");
    std::vector<double> insert_us, notify_us, claim_us, e2e_us;
    for (int i = 0; i < samples; ++i) {
        insert_us.push_back(probe.insert_commit_us());
        claim_us.push_back(probe.claim_us());
        notify_us.push_back(probe.notify_us());
        e2e_us.push_back(probe.e2e_us());
    }
    r.emit("floor_insert_commit_us", median(insert_us), "us");
    r.emit("floor_notify_us", median(notify_us), "us");
    r.emit("floor_claim_us", median(claim_us), "us");
    r.emit("floor_e2e_us", median(e2e_us), "us");
    r.emit("floor_e2e_p99_us", percentile(e2e_us, 0.99), "us");

    // 100-row SKIP LOCKED claims, back to back, from a backlog.
    exec_raw(probe.producer(), "INSERT INTO " + probe.table() +
                                   " (payload) SELECT '{\"n\": 1}' FROM generate_series(1, 100000)");
    exec_raw(probe.producer(), "VACUUM ANALYZE " + probe.table());
    const std::string claim100 = "UPDATE " + probe.table() + " SET state = 1 WHERE id IN (SELECT id FROM " +
                                 probe.table() + " WHERE state = 0 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)"
                                 " RETURNING id";
    auto t0 = Clock::now();
    std::int64_t claimed = 0;
    while (claimed < 50000) {
        PGresult* res = PQexec(probe.claimer(), claim100.c_str());
        claimed += PQntuples(res);
        PQclear(res);
    }
    r.emit("floor_claim_batch_jobs_per_s",
           static_cast<double>(claimed) / std::chrono::duration<double>(Clock::now() - t0).count(), "jobs/s");

    r.emit("floor_inserts_per_s", inserts_per_second(o, probe.table(), false, o.producers, 3.0), "inserts/s");
    r.emit("floor_inserts_notify_per_s", inserts_per_second(o, probe.table(), true, o.producers, 3.0), "inserts/s");
    r.emit("floor_fdatasync_per_s", fdatasync_per_second(2.0), "syncs/s");
    // No dispatcher here: the bench process itself, for completeness.
    r.emit("peak_rss_mib", peak_rss_mib(), "MiB");
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
    using namespace bench;
    Options o;
    CLI::App app{"seesaw-bench: end-to-end benchmarks of seesaw against a real PostgreSQL"};
    const char* env_url = std::getenv("SEESAW_DATABASE_URL");
    if (env_url != nullptr) o.url = env_url;
    app.add_option("--database-url", o.url, "PostgreSQL URL (default: $SEESAW_DATABASE_URL)");
    app.add_option("--schema", o.schema, "schema to create, use and drop")->capture_default_str();
    app.add_option("--mode", o.mode, "what to measure")
        ->required()
        ->check(CLI::IsMember({"latency", "throughput", "steady", "floor", "stats", "prune"}));
    app.add_option("--jobs", o.jobs,
                   "jobs (latency 2000, throughput 100000, steady 50000, stats 1000000; floor: samples, 1000;"
                   " prune: old succeeded jobs to delete, 1000000)");
    app.add_option("--workers", o.workers, "handler threads")->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--producers", o.producers, "producer threads (steady, prune) / connections (floor)")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    app.add_option("--producer-jobs", o.producer_jobs, "prune mode and throughput variants: single-job enqueues per producer")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{10000000}));
    app.add_option("--rate", o.rate, "latency mode: jobs per second")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--payload-bytes", o.payload_bytes, "approximate payload size")->capture_default_str();
    app.add_option("--runs", o.runs, "repeat the measurement")->capture_default_str()->check(CLI::Range(1, 100));
    app.add_option("--background-jobs", o.background_jobs, "other jobs in the table (pending elsewhere, succeeded, dead)")
        ->capture_default_str();
    app.add_option("--prefetch", o.prefetch, "jobs claimed ahead of free threads (default: adaptive, as the dispatcher's)");
    app.add_option("--durable-claims", o.durable_claims,
                   "claims commit durably before their handlers start (DispatcherOptions::durable_claims)")
        ->capture_default_str();
    app.add_flag("--keep", o.keep, "keep the schema afterwards");
    app.add_option("--variants", o.variants,
                   "throughput: also in-process producers with and without the fast path, and completion in the "
                   "handler's transaction (default true)");
    app.add_option("--cdf-dir", o.cdf_dir, "write latency distributions (for plots) into this directory");
    CLI11_PARSE(app, argc, argv);
    if (o.url.empty()) {
        std::cerr << "seesaw-bench: pass --database-url or set SEESAW_DATABASE_URL\n";
        return 2;
    }
    if (std::getenv("SEESAW_LOG_LEVEL") == nullptr) seesaw::set_log_level(seesaw::LogLevel::warn);
    try {
        Report report(o);
        {
            auto conn = seesaw::Connection::open(o.url);
            report.set_param("postgres", setting(conn, "server_version"));
            report.set_param("synchronous_commit", setting(conn, "synchronous_commit"));
            report.set_param("fsync", setting(conn, "fsync"));
        }
        report.set_param("mode", o.mode);
        report.set_param("workers", static_cast<double>(o.workers));
        report.set_param("producers", static_cast<double>(o.producers));
        report.set_param("payload_bytes", static_cast<double>(o.payload_bytes));
        report.set_param("background_jobs", static_cast<double>(o.background_jobs));
        if (o.mode == "latency") report.set_param("rate", o.rate);
        if (o.mode == "prune" || (o.mode == "throughput" && o.variants)) report.set_param("producer_jobs", static_cast<double>(o.producer_jobs));
        report.set_param("durable_claims", o.durable_claims ? "on" : "off");
        if (o.prefetch >= 0)
            report.set_param("prefetch", static_cast<double>(o.prefetch));
        else
            report.set_param("prefetch", "adaptive");
        for (int run = 1; run <= o.runs; ++run) {
            std::fprintf(stderr, "seesaw-bench %s, run %d of %d\n", o.mode.c_str(), run, o.runs);
            report.set_param("run", run);
            fresh_schema(o);
            add_background_jobs(o);
            auto jobs = o.jobs > 0 ? o.jobs
                                   : (o.mode == "latency"      ? 2000
                                      : o.mode == "throughput" ? 100000
                                      : o.mode == "steady"     ? 50000
                                      : o.mode == "stats"      ? 1000000
                                      : o.mode == "prune"      ? 1000000
                                                               : 1000);
            report.set_param("jobs", static_cast<double>(jobs));
            if (o.mode == "latency") run_latency(o, report);
            if (o.mode == "throughput") {
                run_throughput(o, report);
                if (o.variants) run_throughput_variants(o, report);
            }
            if (o.mode == "steady") run_steady(o, report);
            if (o.mode == "floor") run_floor(o, report);
            if (o.mode == "stats") run_stats(o, report);
            if (o.mode == "prune") run_prune(o, report, run);
            drop_schema(o);
        }
    } catch (const std::exception& e) {
        std::cerr << "seesaw-bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// seesaw-bench: end-to-end benchmarks against a real PostgreSQL.
//
//   seesaw-bench --database-url URL [--schema S] --mode latency|throughput|steady|floor|stats|prune|processes
//                [--jobs N] [--workers N] [--producers N] [--producer-jobs N] [--rate R] [--payload-bytes B]
//                [--runs K] [--background-jobs N] [--prefetch P] [--durable-claims BOOL] [--variants BOOL] [--keep]
//                [--listen-database-url URL] [--poll-only] [--poll-interval MS] [--transaction-pooling]
//                [--direct-database-url URL] [--label NAME] [--process-counts 1,2,4]
//
// Behind a pooler (PgBouncer in transaction mode): --database-url is the
// pooler's, --transaction-pooling, and either --listen-database-url (the
// server's own URL, for the one LISTEN connection) or --poll-only. Schema
// set-up, the floors and the server-side observations use the server's own
// URL (--direct-database-url, default the listen URL).
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
// processes: one backlog of --jobs (40,000) no-op jobs drained by 1, 2 and 4
// dispatcher processes (--process-counts) of --workers threads: jobs/s, the
// backends the drain used, exactly-once, server time per job.
// prune: --jobs succeeded jobs two days old while --producers threads enqueue
// single jobs and the dispatcher runs them, with retention off and on (24 h
// for succeeded jobs) in the same run: the producers' enqueue p50/p99 and the
// process rate of both, and how far the prune got.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
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
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <set>
#include <thread>
#include <unordered_map>

#include "redact.hpp"
#include "store_sql.hpp"
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
    // Connections (every mode that runs a dispatcher).
    std::string listen_url;            // DispatcherOptions::listen_database_url; empty: the store's
    bool poll_only = false;            // DispatcherOptions::listen = false
    std::int64_t poll_interval_ms = -1;  // -1: the dispatcher's default
    bool transaction_pooling = false;  // PgJobStoreOptions::transaction_pooling
    bool delete_succeeded = false;     // PgJobStoreOptions::delete_succeeded
    // Schema set-up, floors and observation (pg_stat_activity,
    // pg_stat_statements) need the server itself, not a pooler: default the
    // listen URL if given, else --database-url.
    std::string direct_url;
    std::string label;  // a name for the set-up, printed as the param "setup"
    // processes mode
    std::vector<int> process_counts = {1, 2, 4};
    // floor mode: the claim-and-complete floor's backlog and claim size
    std::int64_t floor_jobs = 100000;
    int floor_batch = 500;
    bool child = false;  // the hidden --child-dispatcher: one process of the processes mode
};

const std::string& direct_url(const Options& o) {
    if (!o.direct_url.empty()) return o.direct_url;
    return o.listen_url.empty() ? o.url : o.listen_url;
}

seesaw::PgJobStoreOptions store_options(const Options& o) {
    return {.schema = o.schema, .transaction_pooling = o.transaction_pooling, .delete_succeeded = o.delete_succeeded};
}

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
// This process's CPU time so far (user + system), in seconds.
double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
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
    void clear_param(const std::string& key) {
        text_params_.erase(key);
        number_params_.erase(key);
    }

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
    auto conn = Connection::open(direct_url(o));
    conn.execute("SET client_min_messages TO warning");
    conn.execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(o.schema) + " CASCADE");
    seesaw::migrate(conn, o.schema);
}

void drop_schema(const Options& o) {
    if (o.keep) return;
    auto conn = Connection::open(direct_url(o));
    conn.execute("SET client_min_messages TO warning");
    conn.execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(o.schema) + " CASCADE");
}

// --- server CPU ---------------------------------------------------------------------------

// CPU time of the whole PostgreSQL server (postmaster, backends, WAL writer,
// checkpointer, ...) when it runs on this machine: the postmaster's own and
// its reaped children's (/proc/PID/stat), plus every live child's. Unlike
// pg_stat_statements (wall time inside the executor, which grows when the
// backends wait for a core) it is what the server spends per job.
class ServerCpu {
public:
    // Empty when the server is not on this machine (or its data directory
    // is not readable): its postmaster.pid must name a live process that
    // listens on the server's port.
    static std::optional<ServerCpu> find(Connection& conn) {
        try {
            auto dir = setting(conn, "data_directory");
            auto port = setting(conn, "port");
            std::ifstream pidfile(dir + "/postmaster.pid");
            std::string pid_line, line;
            if (!std::getline(pidfile, pid_line)) return std::nullopt;
            for (int i = 2; i <= 4 && std::getline(pidfile, line); ++i) {
                if (i == 4 && line != port) return std::nullopt;
            }
            const pid_t pid = static_cast<pid_t>(std::stol(pid_line));
            ServerCpu cpu(pid);
            if (!cpu.read(pid)) return std::nullopt;
            return cpu;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

    // Seconds of CPU (user + system) so far.
    double seconds() const {
        double ticks = 0;
        if (auto own = read(postmaster_)) ticks += own->self + own->children;
        for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
            const auto name = entry.path().filename().string();
            if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
            auto s = read(static_cast<pid_t>(std::stol(name)));
            if (s && s->parent == postmaster_) ticks += s->self;
        }
        return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
    }

private:
    explicit ServerCpu(pid_t postmaster) : postmaster_(postmaster) {}

    struct Stat {
        pid_t parent = 0;
        double self = 0;      // utime + stime, in ticks
        double children = 0;  // cutime + cstime (reaped children)
    };
    static std::optional<Stat> read(pid_t pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string text;
        if (!std::getline(in, text)) return std::nullopt;
        auto close = text.rfind(')');  // the command name may hold spaces
        if (close == std::string::npos) return std::nullopt;
        std::istringstream fields(text.substr(close + 2));
        std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
        // fields from 3 (state): ppid is field 4, utime..cstime fields 14..17.
        if (f.size() < 15) return std::nullopt;
        Stat s;
        s.parent = static_cast<pid_t>(std::stol(f[1]));
        s.self = std::stod(f[11]) + std::stod(f[12]);
        s.children = std::stod(f[13]) + std::stod(f[14]);
        return s;
    }

    pid_t postmaster_;
};

// Server CPU per job over a measured stretch, when the server is local.
struct ServerCpuMeter {
    std::optional<ServerCpu> cpu;
    double started = 0;
    explicit ServerCpuMeter(const Options& o) {
        auto conn = Connection::open(direct_url(o));
        cpu = ServerCpu::find(conn);
    }
    void start() {
        if (cpu) started = cpu->seconds();
    }
    // Emits <prefix>server_cpu_us_per_job; nothing when the server is remote.
    void emit(Report& r, const std::string& prefix, std::int64_t jobs) const {
        if (cpu && jobs > 0) r.emit(prefix + "server_cpu_us_per_job", (cpu->seconds() - started) * 1e6 / static_cast<double>(jobs), "us");
    }
};


// Other jobs in the table: pending in another queue, succeeded, dead letter.
void add_background_jobs(const Options& o) {
    if (o.background_jobs <= 0) return;
    auto started = Clock::now();
    auto conn = Connection::open(direct_url(o));
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
    if (!o.listen_url.empty()) d.listen_database_url = o.listen_url;
    if (o.poll_only) d.listen = false;
    if (o.poll_interval_ms >= 0) d.poll_interval = std::chrono::milliseconds(o.poll_interval_ms);
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
        : table_(seesaw::quote_identifier(o.schema) + "." + table_name), a_(open_raw(direct_url(o))), b_(open_raw(direct_url(o))) {
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
    seesaw::PgJobStore store(pool, store_options(o));
    seesaw::PgJobStore remote(pool, store_options(o));  // not the dispatcher's: the normal path
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
    seesaw::PgJobStore store(pool, store_options(o));
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
        auto conn = Connection::open(direct_url(o));
        conn.execute("VACUUM ANALYZE " + seesaw::quote_identifier(o.schema) + ".jobs");
    }

    seesaw::Dispatcher dispatcher(store, dispatcher_options(o));
    Completions done;
    dispatcher.on<Noop>([](const Noop&, seesaw::JobContext&) {});
    auto sub = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) { done.add(); });
    reset_peak_rss();
    ServerCpuMeter meter(o);
    meter.start();
    const double own_cpu = process_cpu_seconds();
    auto started = Clock::now();
    dispatcher.start();
    if (!done.wait_for(jobs, 600s)) throw std::runtime_error("timed out waiting for the jobs to finish");
    auto seconds = std::chrono::duration<double>(done.last - started).count();
    double rss = peak_rss_mib();
    meter.emit(r, "process_", jobs);
    // The dispatcher's own CPU (this process: nothing else runs in it now).
    r.emit("process_dispatcher_cpu_us_per_job", (process_cpu_seconds() - own_cpu) * 1e6 / static_cast<double>(jobs), "us");
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
    seesaw::PgJobStore store(pool, store_options(o));
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
    seesaw::PgJobStore store(pool, store_options(o));
    {
        auto conn = Connection::open(direct_url(o));
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
    auto conn = Connection::open(direct_url(o));
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
    seesaw::PgJobStore store(pool, store_options(o));
    // The producers stand for other processes: their store is not the
    // dispatcher's (no in-process fast path; see the throughput mode's).
    seesaw::PgJobStore own(pool, store_options(o));
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
    seesaw::PgJobStore store(pool, store_options(o));
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
    auto conn = Connection::open(direct_url(o));
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
    seesaw::PgJobStore store(pool, store_options(o));
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
    auto conn = Connection::open(direct_url(o));
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
    seesaw::PgJobStore store(pool, store_options(o));
    auto options = dispatcher_options(o);
    options.retention = {.succeeded = seesaw::keep_forever, .cancelled = seesaw::keep_forever,
                         .dead_letter = seesaw::keep_forever};
    if (prune) options.retention.succeeded = std::chrono::hours(24);
    seesaw::PgJobStore own(pool, store_options(o));  // the producers' is not the dispatcher's
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
    auto conn = Connection::open(direct_url(o));
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

// --- processes ---------------------------------------------------------------------------

// One backlog drained by N dispatcher processes: this binary again
// (/proc/self/exe --child-dispatcher ...), each with --workers threads. The
// children start on an empty schema and say "ready" once their first claim
// returned; then this process inserts the whole backlog in one statement
// (one commit) and the clock runs from that commit to the last success in
// any child (each child reports its successes and the steady-clock time of
// its last one; CLOCK_MONOTONIC is one clock for every process). Meanwhile
// pg_stat_activity is sampled on a direct connection: the peak number of
// backends of the database (not counting this process's own), by
// application_name, and how many backends ran anything during the drain.
// Afterwards every job must have succeeded at attempt 1, and the children's
// successes must add up to the backlog: each job ran exactly once. With
// pg_stat_statements on the server (bench/run.sh's durable one), the
// server's execution time per job and the statements that take most of it.

// Writes one line to stdout in one write (shorter than PIPE_BUF).
void say(const std::string& line) {
    std::string out = line + "\n";
    auto n = ::write(STDOUT_FILENO, out.data(), out.size());
    (void)n;
}

// The child: a dispatcher of no-op jobs until its stdin closes.
int run_child(const Options& o) {
    ::setenv("PGAPPNAME", "seesaw-bench store", 1);  // the store pool's connections (the dispatcher names its own)
    seesaw::PgPool pool(o.url, {.max_connections = 4});
    seesaw::PgJobStore store(pool, store_options(o));
    seesaw::Dispatcher dispatcher(store, dispatcher_options(o));
    std::atomic<std::int64_t> count{0}, last{0};
    dispatcher.on<Noop>([](const Noop&, seesaw::JobContext&) {});
    auto s1 = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) {
        last.store(ns(Clock::now()));
        count.fetch_add(1);
    });
    std::once_flag ready;
    auto s2 = dispatcher.events().subscribe<seesaw::ClaimFinished>(
        [&](const seesaw::ClaimFinished&) { std::call_once(ready, [] { say("ready"); }); });
    dispatcher.start();
    std::atomic<bool> stop{false};
    auto report = [&] { say("done " + std::to_string(count.load()) + " " + std::to_string(last.load())); };
    std::thread reporter([&] {
        std::int64_t reported = 0;
        while (!stop.load()) {
            std::this_thread::sleep_for(10ms);
            if (auto c = count.load(); c != reported) {
                reported = c;
                report();
            }
        }
    });
    char buffer[64];
    while (::read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
    }
    dispatcher.stop();
    stop = true;
    reporter.join();
    report();
    say("stopped");
    return 0;
}

// The children of one drain, each with its stdin (closed: stop) and its
// stdout (read by a thread of its own).
class Children {
public:
    Children(const Options& o, int n) {
        std::vector<std::string> args = {"seesaw-bench", "--child-dispatcher", "--mode", "processes",
                                         "--database-url", o.url, "--schema", o.schema,
                                         "--workers", std::to_string(o.workers),
                                         "--durable-claims", o.durable_claims ? "true" : "false"};
        if (o.prefetch >= 0) args.insert(args.end(), {"--prefetch", std::to_string(o.prefetch)});
        if (!o.listen_url.empty()) args.insert(args.end(), {"--listen-database-url", o.listen_url});
        if (o.poll_only) args.push_back("--poll-only");
        if (o.poll_interval_ms >= 0) args.insert(args.end(), {"--poll-interval", std::to_string(o.poll_interval_ms)});
        if (o.transaction_pooling) args.push_back("--transaction-pooling");
        if (o.delete_succeeded) args.push_back("--delete-succeeded");
        for (int i = 0; i < n; ++i) {
            auto c = std::make_unique<Child>();
            int in[2], out[2];
            if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
            posix_spawn_file_actions_t actions;
            posix_spawn_file_actions_init(&actions);
            posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
            posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            int rc = posix_spawn(&c->pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
            posix_spawn_file_actions_destroy(&actions);
            ::close(in[0]);
            ::close(out[1]);
            if (rc != 0) {
                ::close(in[1]);
                ::close(out[0]);
                throw std::runtime_error("cannot start /proc/self/exe: " + std::string(std::strerror(rc)));
            }
            c->stdin_fd = in[1];
            c->reader = std::thread([this, child = c.get(), fd = out[0]] { read_lines(*child, fd); });
            children_.push_back(std::move(c));
        }
    }
    Children(const Children&) = delete;
    Children& operator=(const Children&) = delete;
    ~Children() {
        try {
            stop();
        } catch (...) {
        }
    }

    struct State {
        int ready = 0, gone = 0;
        std::int64_t done = 0, last_ns = 0;
        std::vector<std::int64_t> per_child;
    };
    State state() {
        std::lock_guard lock(mutex_);
        State s;
        for (const auto& c : children_) {
            s.ready += c->ready ? 1 : 0;
            s.gone += c->eof ? 1 : 0;
            s.done += c->done;
            s.last_ns = std::max(s.last_ns, c->last_ns);
            s.per_child.push_back(c->done);
        }
        return s;
    }
    // Waits up to `timeout` for a line from any child.
    void wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout);
    }
    // Closes their stdin (a graceful stop) and waits; SIGKILL after 60 s.
    // Returns whether each exited 0.
    bool stop() {
        bool clean = true;
        for (auto& c : children_) {
            if (c->stdin_fd >= 0) ::close(c->stdin_fd);
            c->stdin_fd = -1;
        }
        auto deadline = Clock::now() + 60s;
        for (auto& c : children_) {
            if (c->pid <= 0) continue;
            int status = 0;
            while (true) {
                pid_t r = waitpid(c->pid, &status, WNOHANG);
                if (r == c->pid || (r < 0 && errno != EINTR)) break;
                if (Clock::now() > deadline) {
                    kill(c->pid, SIGKILL);
                    waitpid(c->pid, &status, 0);
                    clean = false;
                    break;
                }
                std::this_thread::sleep_for(5ms);
            }
            clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            c->pid = -1;
            if (c->reader.joinable()) c->reader.join();
        }
        return clean;
    }

private:
    struct Child {
        pid_t pid = -1;
        int stdin_fd = -1;
        std::thread reader;
        bool ready = false, eof = false;  // guarded by mutex_, like the rest
        std::int64_t done = 0, last_ns = 0;
    };
    void read_lines(Child& c, int fd) {
        std::string pending;
        char buffer[4096];
        while (true) {
            auto n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            pending.append(buffer, static_cast<std::size_t>(n));
            std::size_t at;
            while ((at = pending.find('\n')) != std::string::npos) {
                std::string line = pending.substr(0, at);
                pending.erase(0, at + 1);
                std::lock_guard lock(mutex_);
                if (line == "ready") c.ready = true;
                if (line.rfind("done ", 0) == 0) {
                    auto space = line.find(' ', 5);
                    c.done = std::stoll(line.substr(5, space - 5));
                    c.last_ns = std::stoll(line.substr(space + 1));
                }
            }
            cv_.notify_all();
        }
        ::close(fd);
        {
            std::lock_guard lock(mutex_);
            c.eof = true;
        }
        cv_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Child>> children_;
};

// `url` with application_name set (a URI or a key=value string).
std::string with_application_name(const std::string& url, const std::string& name) {
    if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)
        return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
    return url + " application_name=" + name;
}

// The short name of a backend's application_name, for metric names.
std::string connection_kind(std::string_view application) {
    constexpr std::string_view dispatcher = "seesaw-dispatcher ";
    if (application.starts_with(dispatcher)) return std::string(application.substr(dispatcher.size()));
    if (application == "seesaw-bench store") return "store";
    if (application.empty()) return "unnamed";
    return "other";
}

// Backends of the database, sampled while the children drain: those that
// connected after the children were started, or ran something since the
// window began (a pooler's server connections may be older than the
// children; its idle ones, left from an earlier run, do not count).
struct ConnectionSampler {
    std::size_t peak = 0;
    std::map<std::string, std::size_t> peak_by_kind;
    std::set<std::string> used;  // pids of backends that ran something since `since`
    std::string spawned;         // the server's clock_timestamp() before the children started
    std::string since;           // the same when the window began

    void sample(Connection& conn) {
        auto rows = conn.execute(
            "/* seesaw-bench parent */ SELECT pid::text, coalesce(application_name, ''), coalesce(state, ''),"
            " coalesce(state_change >= $1::timestamptz, false) FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND application_name IS DISTINCT FROM 'seesaw-bench'"
            " AND (backend_start >= $2::timestamptz OR state_change >= $1::timestamptz OR state <> 'idle')",
            {since, spawned});
        std::map<std::string, std::size_t> by_kind;
        for (std::size_t i = 0; i < rows.rows(); ++i) {
            ++by_kind[connection_kind(rows.get(i, 1))];
            if (rows.get(i, 2) != "idle" || rows.get(i, 3) == "t") used.emplace(rows.get(i, 0));
        }
        peak = std::max(peak, rows.rows());
        for (const auto& [kind, n] : by_kind) peak_by_kind[kind] = std::max(peak_by_kind[kind], n);
    }
};

void drain_with_processes(const Options& o, Report& r, int n, std::int64_t jobs) {
    const std::string prefix = "processes_" + std::to_string(n) + "_";
    fresh_schema(o);
    auto conn = Connection::open(with_application_name(direct_url(o), "seesaw-bench"));
    const auto table = seesaw::quote_identifier(o.schema) + ".jobs";
    auto now = [&] { return std::string(conn.execute("/* seesaw-bench parent */ SELECT clock_timestamp()::text").get(0, 0)); };
    const auto spawned = now();
    Children children(o, n);
    auto wait_until = [&](auto done, std::chrono::seconds timeout, const char* what) {
        auto deadline = Clock::now() + timeout;
        while (!done(children.state())) {
            auto s = children.state();
            if (s.gone > 0) throw std::runtime_error(std::to_string(s.gone) + " dispatcher process(es) exited " + what);
            if (Clock::now() > deadline) throw std::runtime_error(std::string("timed out ") + what);
            children.wait(20ms);
        }
    };
    wait_until([&](const Children::State& s) { return s.ready == n; }, 60s, "before becoming ready");

    bool statements = true;  // pg_stat_statements, when the server has it
    try {
        conn.execute("/* seesaw-bench parent */ SELECT pg_stat_statements_reset()");
    } catch (const std::exception&) {
        statements = false;
    }
    ConnectionSampler idle;  // ready, nothing to do
    idle.spawned = spawned;
    idle.since = now();
    idle.sample(conn);
    ConnectionSampler sampler;
    sampler.spawned = spawned;
    sampler.since = idle.since;
    ServerCpuMeter meter(o);
    conn.execute("/* seesaw-bench parent */ INSERT INTO " + table + " (job_type, payload)"
                 " SELECT 'bench_noop', jsonb_build_object('seq', i, 'pad', '" + pad(o.payload_bytes) + "')"
                 " FROM generate_series(1, " + std::to_string(jobs) + ") AS i");
    meter.start();  // the drain, not the backlog's insert
    const auto released = Clock::now();
    auto deadline = released + 600s;
    while (true) {
        sampler.sample(conn);
        auto s = children.state();
        if (s.done >= jobs) break;
        if (s.gone > 0) throw std::runtime_error("a dispatcher process exited during the drain");
        if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for the jobs to finish");
        children.wait(20ms);
    }
    sampler.sample(conn);
    const auto state = children.state();
    const double seconds = static_cast<double>(state.last_ns - ns(released)) / 1e9;

    // Exactly once: every job succeeded at its first attempt, and the
    // children's successes add up to the backlog.
    // With --delete-succeeded: no row is left, and the successes add up.
    auto check = conn.execute("/* seesaw-bench parent */ SELECT count(*),"
                              " count(*) FILTER (WHERE status = 'succeeded' AND attempt = 1) FROM " + table);
    const auto rows = check.get_int64(0, 0), once = check.get_int64(0, 1);
    const auto expected_rows = o.delete_succeeded ? 0 : jobs;
    if (rows != expected_rows || once != expected_rows || state.done != jobs) {
        throw std::runtime_error(std::to_string(n) + " processes: " + std::to_string(rows) + " jobs, " +
                                 std::to_string(once) + " succeeded at attempt 1, " + std::to_string(state.done) +
                                 " successes reported, of " + std::to_string(jobs));
    }

    // The server's time per job, before the children's stop adds to it.
    meter.emit(r, prefix, jobs);
    std::vector<std::tuple<std::string, std::string, double, double>> top;  // queryid, query, calls, ms
    double server_ms = 0;
    if (statements) {
        const std::string ours = " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                                 " WHERE datname = current_database()) AND query NOT LIKE '%seesaw-bench parent%'";
        server_ms = std::stod(std::string(
            conn.execute("/* seesaw-bench parent */ SELECT coalesce(sum(total_exec_time), 0)::text" + ours).get(0, 0)));
        auto t = conn.execute("/* seesaw-bench parent */ SELECT queryid::text,"
                              " left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls::text, total_exec_time::text" +
                              ours + " ORDER BY total_exec_time DESC LIMIT 3");
        for (std::size_t i = 0; i < t.rows(); ++i)
            top.emplace_back(std::string(t.get(i, 0)), std::string(t.get(i, 1)), std::stod(std::string(t.get(i, 2))),
                             std::stod(std::string(t.get(i, 3))));
    }
    if (!children.stop()) throw std::runtime_error("a dispatcher process did not stop cleanly");

    std::int64_t least = *std::min_element(state.per_child.begin(), state.per_child.end());
    std::string spread;
    for (auto c : state.per_child) spread += (spread.empty() ? "" : " + ") + std::to_string(c);
    std::fprintf(stderr, "  (%d process(es): %s jobs; %zu backends at the peak, %zu ran something)\n", n,
                 spread.c_str(), sampler.peak, sampler.used.size());
    r.emit(prefix + "jobs_per_s", static_cast<double>(jobs) / seconds, "jobs/s");
    r.emit(prefix + "drain_s", seconds, "s");
    r.emit(prefix + "exactly_once", 1, "bool");
    r.emit(prefix + "least_process_share", static_cast<double>(least) * n / static_cast<double>(jobs), "ratio");
    r.emit(prefix + "connections", static_cast<double>(sampler.peak), "connections");
    r.emit(prefix + "connections_idle", static_cast<double>(idle.peak), "connections");
    r.emit(prefix + "backends_used", static_cast<double>(sampler.used.size()), "connections");
    auto kinds = sampler.peak_by_kind;
    for (const char* k : {"claim", "complete", "listen", "store"}) kinds.try_emplace(k, 0);
    for (const auto& [kind, peak] : kinds) r.emit(prefix + "connections_" + kind, static_cast<double>(peak), "connections");
    if (statements) {
        r.emit(prefix + "server_us_per_job", server_ms * 1000.0 / static_cast<double>(jobs), "us");
        // Named by a hash of the text (queryid changes with the schema's
        // OIDs, new in every run), with the text as a param.
        for (const auto& [queryid, query, calls, ms] : top) {
            std::uint32_t h = 2166136261u;  // FNV-1a
            for (unsigned char c : query) h = (h ^ c) * 16777619u;
            char id[16];
            std::snprintf(id, sizeof id, "%08x", h);
            const auto k = prefix + "statement_" + id + "_";
            r.set_param("statement", query);
            r.emit(k + "share", server_ms > 0 ? ms / server_ms : 0, "ratio");
            r.emit(k + "us_per_job", ms * 1000.0 / static_cast<double>(jobs), "us");
            r.emit(k + "jobs_per_call", calls > 0 ? static_cast<double>(jobs) / calls : 0, "jobs");
            std::fprintf(stderr, "    %4.0f%%  %s\n", server_ms > 0 ? 100 * ms / server_ms : 0, query.c_str());
        }
        r.clear_param("statement");
    }
}

void run_processes(const Options& o, Report& r) {
    const auto jobs = o.jobs > 0 ? o.jobs : 40000;
    for (int n : o.process_counts) {
        std::fprintf(stderr, "  %d dispatcher process(es), %zu workers each\n", n, o.workers);
        drain_with_processes(o, r, n, jobs);
    }
}

// --- floor (continued) -------------------------------------------------------------------

PGresult* exec_prepared(PGconn* c, const char* name, const std::vector<const char*>& values) {
    PGresult* res = PQexecPrepared(c, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string error = PQresultErrorMessage(res);
        PQclear(res);
        throw std::runtime_error(error + " in the prepared statement " + name);
    }
    return res;
}

PGresult* exec_prepared(PGconn* c, const char* name, std::initializer_list<const char*> params) {
    return exec_prepared(c, name, std::vector<const char*>(params));
}

void prepare_raw(PGconn* c, const char* name, const std::string& sql) {
    PGresult* res = PQprepare(c, name, sql.c_str(), 0, nullptr);
    auto status = PQresultStatus(res);
    std::string error = PQresultErrorMessage(res);
    PQclear(res);
    if (status != PGRES_COMMAND_OK) throw std::runtime_error(error + " in: " + sql);
}

// Statements per second from n connections for `seconds`: each connection
// runs prepare(conn) once, then one(conn) (one transaction) until time is up.
template <class Prepare, class One>
double per_second_from(const Options& o, std::size_t n, double seconds, Prepare prepare, One one) {
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> total{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i) {
        threads.emplace_back([&] {
            PGconn* c = open_raw(direct_url(o));
            prepare(c);
            std::int64_t mine = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                one(c);
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

// Single-row inserts per second from n connections for `seconds`.
double inserts_per_second(const Options& o, const std::string& table, bool notify, std::size_t n, double seconds) {
    std::string sql = "INSERT INTO " + table + " (payload) VALUES ('{\"n\": 1}')";
    if (notify) sql += "; NOTIFY seesaw_floor_insert";
    return per_second_from(o, n, seconds, [](PGconn*) {}, [&](PGconn* c) { exec_raw(c, sql); });
}

// Single-job enqueues per second from n connections for `seconds`, into
// `table` (seesaw's jobs table or a copy of it): one INSERT of a job row per
// transaction, its id a client-made UUIDv7 as the store sends it, in a queue
// no dispatcher serves.
double job_inserts_per_second(const Options& o, const std::string& table, std::size_t n, double seconds) {
    const std::string payload = "{\"seq\": 1, \"pad\": \"" + pad(o.payload_bytes) + "\"}";
    const std::string sql = "INSERT INTO " + table + " (id, job_type, payload, queue)"
                            " VALUES ($1::uuid, 'floor', $2::jsonb, 'floor_inserts')";
    return per_second_from(
        o, n, seconds, [&](PGconn* c) { prepare_raw(c, "insert_job", sql); },
        [&](PGconn* c) {
            const auto id = seesaw::JobId::generate().to_string();
            PQclear(exec_prepared(c, "insert_job", {id.c_str(), payload.c_str()}));
        });
}

// What one enqueue statement costs on one connection, back to back (each
// its own durable transaction, as an enqueue outside a transaction is),
// piece by piece: a bare row (the floor probe's two-column table), the
// jobs table's columns and indexes alone, with its CHECK constraints, and
// the two statements the store sends into the jobs table itself (its
// insert trigger too): the normal path's insert, and the in-process fast
// path's (the job inserted running, leased, after its priority and pause
// checks). µs per statement: what separates the fast path from the bare
// insert + commit floor of the latency mode, with no waiting in between.
void run_statement_costs(const Options& o, Report& r) {
    const FloorProbe bare(o, "statement_bare_rows");  // the same shape as the floor's rows
    const auto& bare_table = bare.table();
    const auto schema = seesaw::quote_identifier(o.schema);
    const seesaw::detail::StoreSql sql(o.schema, false);
    const std::string payload = "{\"seq\": 1, \"pad\": \"" + pad(o.payload_bytes) + "\"}";
    const double seconds = 3.0;
    auto us_each = [](double per_second) { return per_second > 0 ? 1e6 / per_second : 0.0; };
    r.emit("statement_bare_insert_us", us_each(inserts_per_second(o, bare_table, false, 1, seconds)), "us");
    r.emit("statement_job_row_insert_us", us_each(job_inserts_per_second(o, schema + ".floor_job_rows", 1, seconds)),
           "us");
    r.emit("statement_job_row_checked_insert_us",
           us_each(job_inserts_per_second(o, schema + ".floor_job_rows_checked", 1, seconds)), "us");
    // The store's statements, with its parameters: queue floor_statements
    // (no dispatcher serves it), due now, priority 0.
    auto store_statement = [&](const std::string& name, const std::string& text, bool fast) {
        return us_each(per_second_from(
            o, 1, seconds, [&](PGconn* c) { prepare_raw(c, name.c_str(), text); },
            [&](PGconn* c) {
                const auto id = seesaw::JobId::generate().to_string();
                std::vector<const char*> params = {id.c_str(), "floor", payload.c_str(), "floor_statements",
                                                   "0",        "3",     nullptr,         "0",
                                                   "1"};
                if (fast) {
                    params.push_back("seesaw-bench-statements");
                    params.push_back("30000");
                }
                PQclear(exec_prepared(c, name.c_str(), params));
            }));
    };
    r.emit("statement_enqueue_us", store_statement("enqueue", sql.enqueue, false), "us");
    r.emit("statement_enqueue_fast_us", store_statement("enqueue_fast", sql.enqueue_fast, true), "us");
}

// What one enqueue's row costs, piece by piece, from --producers connections:
// the jobs table's columns and indexes alone (a copy without CHECK
// constraints or triggers), with its CHECK constraints, and the jobs table
// itself (its insert trigger: stats() change rows and wake-ups).
void run_job_insert_floors(const Options& o, Report& r) {
    fresh_schema(o);
    const auto schema = seesaw::quote_identifier(o.schema);
    {
        auto conn = Connection::open(direct_url(o));
        conn.execute("CREATE TABLE " + schema + ".floor_job_rows (LIKE " + schema + ".jobs INCLUDING DEFAULTS INCLUDING INDEXES)");
        conn.execute("CREATE TABLE " + schema + ".floor_job_rows_checked (LIKE " + schema +
                     ".jobs INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)");
    }
    r.emit("floor_job_row_inserts_per_s", job_inserts_per_second(o, schema + ".floor_job_rows", o.producers, 3.0), "inserts/s");
    r.emit("floor_job_row_checked_inserts_per_s",
           job_inserts_per_second(o, schema + ".floor_job_rows_checked", o.producers, 3.0), "inserts/s");
    r.emit("floor_job_inserts_per_s", job_inserts_per_second(o, schema + ".jobs", o.producers, 3.0), "inserts/s");
    run_statement_costs(o, r);
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

// --- floor: claim and complete -------------------------------------------------------------

// How a claim-and-complete floor finishes a job.
enum class FloorFinish { update, update_no_count_trigger, del };

const char* floor_finish_name(FloorFinish f) {
    switch (f) {
        case FloorFinish::update: return "update";
        case FloorFinish::update_no_count_trigger: return "update_no_count_trigger";
        case FloorFinish::del: return "delete";
    }
    return "?";
}

// The bare cost of what every job needs on seesaw's own jobs table (the
// seed's row, every index and trigger of the migrations): a backlog of
// `jobs` drained by batched SKIP LOCKED claims of `batch` rows (status,
// worker, lease) on one connection and batched fenced success writes on
// another, pipelined as the dispatcher's are (at most two claimed batches
// waiting), each committed durably. No handler, no tickets, no wake-ups.
// `finish`: the success as seesaw writes it, the same without the stats()
// trigger on updates, or a DELETE (the floor of delete-at-completion).
double claim_complete_per_second(const Options& o, Report& r, FloorFinish finish, std::int64_t jobs, int batch) {
    fresh_schema(o);
    const auto table = seesaw::quote_identifier(o.schema) + ".jobs";
    {
        auto conn = Connection::open(direct_url(o));
        if (finish == FloorFinish::update_no_count_trigger) conn.execute("ALTER TABLE " + table + " DISABLE TRIGGER jobs_count_update");
        conn.execute("INSERT INTO " + table + " (job_type, payload) SELECT 'bench_noop', jsonb_build_object('seq', i, 'pad', '" +
                     pad(o.payload_bytes) + "') FROM generate_series(1, " + std::to_string(jobs) + ") AS i");
        conn.execute("VACUUM ANALYZE " + table);
    }
    PGconn* claimer = open_raw(direct_url(o));
    PGconn* completer = open_raw(direct_url(o));
    if (!o.durable_claims) exec_raw(claimer, "SET synchronous_commit = off");
    prepare_raw(claimer, "claim",
                "UPDATE " + table + " AS j SET status = 'running', worker_id = $1,"
                " lease_expires_at = now() + interval '30 seconds', updated_at = now()"
                " WHERE j.id = ANY (ARRAY(SELECT id FROM " + table +
                " WHERE queue = 'default' AND status IN ('pending', 'failed') AND run_at <= now()"
                " ORDER BY priority, run_at, id LIMIT $2::int8 FOR UPDATE SKIP LOCKED))"
                " RETURNING j.id, j.attempt, j.job_type, j.payload::text");
    const std::string fence = " FROM unnest($1::uuid[], $2::int4[]) AS c(id, attempt)"
                              " WHERE j.id = c.id AND j.attempt = c.attempt AND j.worker_id = $3 AND j.status = 'running'";
    prepare_raw(completer, "complete",
                finish == FloorFinish::del
                    ? "DELETE FROM " + table + " AS j USING" + fence.substr(5) + " RETURNING j.id"
                    : "UPDATE " + table + " AS j SET status = 'succeeded', lease_expires_at = NULL, updated_at = now()" +
                          fence + " RETURNING j.id");

    struct Batch {
        std::string ids, attempts;
        int rows = 0;
    };
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Batch> waiting;
    bool claimed_all = false;
    std::int64_t completed = 0;
    const std::string limit = std::to_string(batch);
    ServerCpuMeter meter(o);
    meter.start();
    const auto started = Clock::now();
    std::thread claims([&] {
        while (true) {
            {
                std::unique_lock lock(mutex);
                cv.wait(lock, [&] { return waiting.size() < 2; });
            }
            PGresult* res = exec_prepared(claimer, "claim", {"floor", limit.c_str()});
            Batch b;
            b.rows = PQntuples(res);
            for (int i = 0; i < b.rows; ++i) {
                b.ids.push_back(i ? ',' : '{');
                b.ids.append(PQgetvalue(res, i, 0));
                b.attempts.push_back(i ? ',' : '{');
                b.attempts.append(PQgetvalue(res, i, 1));
            }
            PQclear(res);
            std::lock_guard lock(mutex);
            if (b.rows == 0) {
                claimed_all = true;
                cv.notify_all();
                return;
            }
            b.ids += "}";
            b.attempts += "}";
            waiting.push_back(std::move(b));
            cv.notify_all();
        }
    });
    while (true) {
        Batch b;
        {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return !waiting.empty() || claimed_all; });
            if (waiting.empty()) break;
            b = std::move(waiting.front());
            waiting.pop_front();
            cv.notify_all();
        }
        PGresult* res = exec_prepared(completer, "complete", {b.ids.c_str(), b.attempts.c_str(), "floor"});
        completed += PQntuples(res);
        PQclear(res);
    }
    claims.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    // Before the backends exit (one that exits between the meter's reads
    // would be missed).
    meter.emit(r, std::string("floor_claim_complete_") + floor_finish_name(finish) + "_", jobs);
    PQfinish(claimer);
    PQfinish(completer);
    if (completed != jobs)
        throw std::runtime_error("claim-and-complete floor: " + std::to_string(completed) + " of " + std::to_string(jobs) + " jobs completed");
    return static_cast<double>(jobs) / seconds;
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
    run_job_insert_floors(o, r);
    // Claim and complete on seesaw's own table, as the dispatcher does (last: each
    // starts from a fresh schema).
    r.set_param("floor_jobs", static_cast<double>(o.floor_jobs));
    r.set_param("floor_batch", o.floor_batch);
    for (auto finish : {FloorFinish::update, FloorFinish::update_no_count_trigger, FloorFinish::del}) {
        r.emit(std::string("floor_claim_complete_") + floor_finish_name(finish) + "_jobs_per_s",
               claim_complete_per_second(o, r, finish, o.floor_jobs, o.floor_batch), "jobs/s");
    }
    r.clear_param("floor_jobs");
    r.clear_param("floor_batch");

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
        ->check(CLI::IsMember({"latency", "throughput", "steady", "floor", "stats", "prune", "processes"}));
    app.add_option("--jobs", o.jobs,
                   "jobs (latency 2000, throughput 100000, steady 50000, stats 1000000, processes 40000; floor:"
                   " samples, 1000; prune: old succeeded jobs to delete, 1000000)");
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
    app.add_option("--listen-database-url", o.listen_url,
                   "the dispatcher's LISTEN connection goes here (DispatcherOptions::listen_database_url), e.g. the"
                   " server's own URL while --database-url is a pooler's");
    app.add_flag("--poll-only", o.poll_only, "the dispatcher polls only, no LISTEN (DispatcherOptions::listen = false)");
    app.add_option("--poll-interval", o.poll_interval_ms, "DispatcherOptions::poll_interval in ms (default: the dispatcher's)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600000}));
    app.add_flag("--transaction-pooling", o.transaction_pooling,
                 "--database-url is a pooler in transaction mode (PgJobStoreOptions::transaction_pooling: nothing"
                 " prepared, one statement at a time per dispatcher connection)");
    app.add_flag("--delete-succeeded", o.delete_succeeded,
                 "a job's row is deleted when its success is written (PgJobStoreOptions::delete_succeeded)");
    app.add_option("--direct-database-url", o.direct_url,
                   "the server itself, for schema set-up, floors and pg_stat_activity/pg_stat_statements (default:"
                   " --listen-database-url if given, else --database-url)");
    app.add_option("--label", o.label, "a name for this set-up, printed as the param \"setup\"");
    app.add_option("--process-counts", o.process_counts, "processes mode: the numbers of dispatcher processes, in turn")
        ->delimiter(',')
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--floor-jobs", o.floor_jobs, "floor mode: the backlog the claim-and-complete floor drains")
        ->check(CLI::Range(std::int64_t{1000}, std::int64_t{10000000}))
        ->capture_default_str();
    app.add_option("--floor-batch", o.floor_batch, "floor mode: rows per claim of the claim-and-complete floor")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    app.add_flag("--child-dispatcher", o.child)->group("");  // one process of the processes mode
    CLI11_PARSE(app, argc, argv);
    if (o.url.empty()) {
        std::cerr << "seesaw-bench: pass --database-url or set SEESAW_DATABASE_URL\n";
        return 2;
    }
    if (std::getenv("SEESAW_LOG_LEVEL") == nullptr) seesaw::set_log_level(seesaw::LogLevel::warn);
    if (o.child) {
        try {
            return run_child(o);
        } catch (const std::exception& e) {
            std::cerr << "seesaw-bench (dispatcher process): " << e.what() << "\n";
            return 1;
        }
    }
    try {
        Report report(o);
        {
            auto conn = seesaw::Connection::open(direct_url(o));
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
        if (!o.label.empty()) report.set_param("setup", o.label);
        if (o.mode != "floor" && o.mode != "stats") {  // the modes that run a dispatcher
            report.set_param("listen", o.poll_only ? "off (poll only)" : o.listen_url.empty() ? "store's URL" : "listen_database_url");
            report.set_param("poll_interval_ms",
                             static_cast<double>(o.poll_interval_ms >= 0 ? o.poll_interval_ms
                                                                         : seesaw::DispatcherOptions{}.poll_interval.count()));
            report.set_param("transaction_pooling", o.transaction_pooling ? "on" : "off");
            report.set_param("delete_succeeded", o.delete_succeeded ? "on" : "off");
            report.set_param("store_url", o.url == direct_url(o) ? "direct" : "not the direct URL (a pooler)");
        }
        if (o.mode == "processes") {
            std::string counts;
            for (int n : o.process_counts) counts += (counts.empty() ? "" : ",") + std::to_string(n);
            report.set_param("process_counts", counts);
        }
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
                                      : o.mode == "processes"  ? 40000
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
            if (o.mode == "processes") run_processes(o, report);
            drop_schema(o);
        }
    } catch (const std::exception& e) {
        std::cerr << "seesaw-bench: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

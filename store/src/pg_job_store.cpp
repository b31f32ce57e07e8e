#include "seesaw/store/pg_job_store.hpp"

#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "enqueue_params.hpp"
#include "pg.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/limits.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/store/local_runner.hpp"
#include "store_sql.hpp"
#include "worker_protocol.hpp"

namespace seesaw {
namespace {

using detail::maintenance_batch;

ClaimedJob claimed_job(const detail::ClaimedRow& row, std::string_view worker_id) {
    ClaimedJob job;
    job.id = row.id;
    job.job_type = row.job_type;
    job.queue = row.queue;
    job.payload = row.payload;
    job.worker_id = worker_id;
    job.version = row.version;
    job.attempt = row.attempt;
    job.max_retries = row.max_retries;
    job.priority = row.priority;
    job.snoozes = row.snoozes;
    job.run_at = row.run_at;
    job.created_at = row.created_at;
    job.lease_expires_at = row.lease_expires_at;
    return job;
}

// "2026-12-02T17:20:00.123456Z", as migration 0008's entries write it.
std::optional<Timestamp> parse_utc(std::string_view text) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0;
    auto field = [&](std::size_t at, std::size_t length, int& out) {
        if (text.size() < at + length) return false;
        auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
        return ec == std::errc() && end == text.data() + at + length;
    };
    if (text.size() != 27 || !field(0, 4, year) || !field(5, 2, month) || !field(8, 2, day) ||
        !field(11, 2, hour) || !field(14, 2, minute) || !field(17, 2, second) || !field(20, 6, micros))
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return std::nullopt;
    return Timestamp(std::chrono::sys_days(date).time_since_epoch() + std::chrono::hours(hour) +
                     std::chrono::minutes(minute) + std::chrono::seconds(second) + std::chrono::microseconds(micros));
}

// The errors column: a JSON array of entries (migration 0008). An entry that
// does not read as one (written by hand) is left out.
std::vector<JobError> parse_errors(std::string_view text) {
    std::vector<JobError> out;
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsArray()) return out;
    for (const auto& entry : doc.GetArray()) {
        if (!entry.IsObject()) continue;
        auto string_of = [&](const char* key) -> std::optional<std::string> {
            auto it = entry.FindMember(key);
            if (it == entry.MemberEnd() || !it->value.IsString()) return std::nullopt;
            return std::string(it->value.GetString(), it->value.GetStringLength());
        };
        auto attempt = entry.FindMember("attempt");
        auto at = string_of("at");
        auto kind = string_of("kind");
        if (attempt == entry.MemberEnd() || !attempt->value.IsInt() || !at || !kind) continue;
        JobError error;
        error.attempt = attempt->value.GetInt();
        error.at = parse_utc(*at).value_or(Timestamp{});
        error.worker_id = string_of("worker_id");
        error.kind = parse_error_kind(*kind).value_or(ErrorKind::retryable);
        error.message = string_of("message").value_or("");
        out.push_back(std::move(error));
    }
    return out;
}

Job parse_job(const PGresult* r, int row) {
    using namespace detail;
    auto optional_text = [&](int column) -> std::optional<std::string> {
        if (PQgetisnull(r, row, column)) return std::nullopt;
        return std::string(pg::value(r, row, column));
    };
    auto optional_time = [&](int column) { return pg::optional_timestamp_us(r, row, column); };
    Job job;
    job.id = JobId::parse(pg::value(r, row, job_id));
    job.job_type = pg::value(r, row, job_job_type);
    job.queue = pg::value(r, row, job_queue);
    job.payload = pg::value(r, row, job_payload);
    job.version = pg::to_int<std::int32_t>(pg::value(r, row, job_version));
    job.status = parse_job_status(pg::value(r, row, job_status)).value_or(JobStatus::pending);
    job.attempt = pg::to_int<std::int32_t>(pg::value(r, row, job_attempt));
    job.max_retries = pg::to_int<std::int32_t>(pg::value(r, row, job_max_retries));
    job.priority = pg::to_int<std::int32_t>(pg::value(r, row, job_priority));
    job.run_at = pg::to_timestamp_us(pg::value(r, row, job_run_at_us));
    job.worker_id = optional_text(job_worker_id);
    job.lease_expires_at = optional_time(job_lease_expires_at_us);
    job.error_message = optional_text(job_error_message);
    if (auto kind = optional_text(job_error_kind)) job.error_kind = parse_error_kind(*kind);
    job.created_at = pg::to_timestamp_us(pg::value(r, row, job_created_at_us));
    job.updated_at = pg::to_timestamp_us(pg::value(r, row, job_updated_at_us));
    job.uncounted_attempts = pg::to_int<std::int32_t>(pg::value(r, row, job_uncounted_attempts));
    job.unique_key = optional_text(job_unique_key);
    job.unique_bucket = optional_time(job_unique_bucket_us);
    if (auto states = optional_text(job_unique_states)) {
        // {pending,running,failed}: enum labels need no quoting.
        std::string_view list(*states);
        list = list.substr(1, list.size() - 2);
        while (!list.empty()) {
            const auto comma = std::min(list.find(','), list.size());
            if (auto state = parse_job_status(list.substr(0, comma))) job.unique_states.push_back(*state);
            list.remove_prefix(std::min(comma + 1, list.size()));
        }
    }
    if (auto errors = optional_text(job_errors)) job.errors = parse_errors(*errors);
    job.snoozes = pg::to_int<std::int32_t>(pg::value(r, row, job_snoozes));
    return job;
}

// Indexes into a batch: the items of one worker.
using Group = std::vector<std::size_t>;

// Runs write(worker_id, group) for each worker id of a batch, in worker id
// order. With more than one worker, in one transaction: all are written or
// none, and the batch locks its rows in (worker, id) order, so that no two
// batches can deadlock.
template <class Item, class LeaseOf, class Write>
void for_each_worker(Connection& conn, std::span<const Item> items, LeaseOf lease_of, Write write) {
    std::map<std::string_view, Group> groups;
    for (std::size_t i = 0; i < items.size(); ++i) groups[lease_of(items[i]).worker_id].push_back(i);
    std::optional<Transaction> tx;
    if (groups.size() > 1) tx.emplace(conn);
    for (const auto& [worker_id, group] : groups) write(worker_id, group);
    if (tx) tx->commit();
}

const JobLease& itself(const JobLease& lease) { return lease; }

// Sends write(worker_id, its leases) for each worker id of `leases` (see
// for_each_worker); write returns the leases the statement wrote. Returns
// the ids of the others, in the batch's order.
template <class Write>
std::vector<JobId> fenced_out(Connection& conn, std::span<const JobLease> leases, Write write) {
    std::vector<bool> written(leases.size(), false);
    for_each_worker(conn, leases, itself, [&](std::string_view worker_id, const Group& group) {
        std::vector<detail::LeaseRef> refs;
        refs.reserve(group.size());
        for (auto i : group) refs.push_back({leases[i].id, leases[i].attempt});
        const std::set<detail::LeaseRef> done = write(worker_id, std::move(refs));
        for (auto i : group) written[i] = done.contains({leases[i].id, leases[i].attempt});
    });
    std::vector<JobId> lost;
    for (std::size_t i = 0; i < leases.size(); ++i)
        if (!written[i]) lost.push_back(leases[i].id);
    return lost;
}

// The leases of `sent` whose id a statement that returns ids only listed
// (its fence matched their attempt).
std::set<detail::LeaseRef> listed(const std::vector<detail::LeaseRef>& sent, const PGresult* result) {
    const auto ids = detail::returned_ids(result);
    const std::unordered_set<JobId> returned(ids.begin(), ids.end());
    std::set<detail::LeaseRef> out;
    for (const auto& lease : sent)
        if (returned.contains(lease.id)) out.insert(lease);
    return out;
}

[[noreturn]] void throw_lease_lost(const JobLease& lease, std::string_view action) {
    throw LeaseLostError("cannot " + std::string(action) + " job " + lease.id.to_string() + ": worker '" +
                         lease.worker_id + "' no longer holds attempt " + std::to_string(lease.attempt) +
                         " (the lease expired and was reclaimed, or the job was completed)");
}

// Jobs some of which have unique keys, in one statement; then, for those a
// key kept out, the jobs that hold their keys. A holder that finished (and
// let its key go) between the two is raced again: the job is inserted
// after all, or finds the next holder.
std::vector<Enqueued> insert_unique(PGconn* conn, const detail::StoreSql& sql, std::span<const NewJob> jobs) {
    constexpr int rounds = 5;
    std::vector<Enqueued> out(jobs.size());
    std::vector<std::size_t> index(jobs.size());  // the jobs of this round, as positions in `jobs`
    for (std::size_t i = 0; i < jobs.size(); ++i) index[i] = i;
    std::vector<NewJob> again;  // a later round's jobs
    std::span<const NewJob> batch = jobs;
    for (int round = 1;; ++round) {
        std::size_t payload_bytes = 0;
        for (const auto& job : batch) payload_bytes += job.payload.size();
        const auto arrays = detail::enqueue_batch_arrays(batch, payload_bytes);
        const auto unique = detail::enqueue_unique_arrays(batch);
        pg::Params params;
        for (const auto& a : arrays) params.add(a);
        for (const auto& a : unique) params.add(a);
        auto result = pg::exec(conn, sql.enqueue_unique, params);

        pg::ArrayLiteral types, keys, buckets;
        std::vector<std::size_t> kept_out;  // positions in `jobs`
        for (int row = 0; row < PQntuples(result.get()); ++row) {
            const auto i = index[pg::to_int<std::size_t>(pg::value(result.get(), row, 0)) - 1];
            if (pg::value(result.get(), row, 1) == "t") {
                out[i] = Enqueued{jobs[i].id, true};
                continue;
            }
            if (!jobs[i].options.unique_key) throw Error("job " + jobs[i].id.to_string() + " was not inserted");
            kept_out.push_back(i);
            types.add(jobs[i].job_type);
            keys.add(*jobs[i].options.unique_key);
            if (PQgetisnull(result.get(), row, 2))
                buckets.add_null();
            else
                buckets.add(pg::to_int<std::int64_t>(pg::value(result.get(), row, 2)));
        }
        if (kept_out.empty()) return out;

        pg::Params lookup;
        lookup.add(std::move(types).finish());
        lookup.add(std::move(keys).finish());
        lookup.add(std::move(buckets).finish());
        auto holders = pg::exec(conn, sql.find_unique, lookup);
        std::vector<bool> found(kept_out.size());
        for (int row = 0; row < PQntuples(holders.get()); ++row) {
            const auto k = pg::to_int<std::size_t>(pg::value(holders.get(), row, 0)) - 1;
            out[kept_out[k]] = Enqueued{JobId::parse(pg::value(holders.get(), row, 1)), false};
            found[k] = true;
        }
        std::vector<std::size_t> next;
        for (std::size_t k = 0; k < kept_out.size(); ++k)
            if (!found[k]) next.push_back(kept_out[k]);
        if (next.empty()) return out;
        if (round == rounds) {
            const auto& job = jobs[next.front()];
            throw Error("the job holding unique key '" + *job.options.unique_key + "' of job type '" + job.job_type +
                        "' finished each time this enqueue looked for it (" + std::to_string(rounds) +
                        " times); the other jobs of the call that were inserted stay");
        }
        std::vector<NewJob> jobs_again;
        for (auto i : next) jobs_again.push_back(jobs[i]);
        again = std::move(jobs_again);
        index = std::move(next);
        batch = again;
    }
}

Enqueued insert_one(PGconn* conn, const detail::StoreSql& sql, const NewJob& job) {
    if (job.options.unique_key) return insert_unique(conn, sql, std::span(&job, 1)).front();
    detail::EnqueueParams params(job);
    pg::Params packed;
    for (const auto& p : params.get()) packed.add_param(p);
    pg::exec(conn, sql.enqueue, packed);
    return Enqueued{job.id, true};
}

// On a connection that keeps its prepared statements: parsed and planned once.
Enqueued insert_one(Connection& conn, const detail::StoreSql& sql, const NewJob& job, bool prepare) {
    if (!prepare || job.options.unique_key) return insert_one(conn.native(), sql, job);
    detail::EnqueueParams params(job);
    conn.execute_prepared(sql.enqueue_name, sql.enqueue, params.get());
    return Enqueued{job.id, true};
}

// A batch this big or bigger goes by COPY when it can (copy_fits): COPY
// saves parsing nine array parameters on the server, but costs a round trip
// more (the server's go-ahead before the rows).
constexpr std::size_t copy_min_jobs = 64;

// COPY writes each column as given or its default: no job may have a delay
// (run_at is now() plus the delay, by the database's clock), and either
// every job gives run_at or none does (the default now()). Unique keys go
// through enqueue_unique.
bool copy_fits(std::span<const NewJob> jobs) noexcept {
    if (jobs.size() < copy_min_jobs) return false;
    const bool timed = jobs.front().options.run_at.has_value();
    return std::all_of(jobs.begin(), jobs.end(), [timed](const NewJob& job) {
        return !job.options.unique_key && job.options.delay.count() == 0 && job.options.run_at.has_value() == timed;
    });
}

// A value in COPY's text format: backslash, tab, newline and carriage
// return escaped (validation has refused NUL bytes).
void append_copy_value(std::string& out, std::string_view value) {
    while (!value.empty()) {
        const auto special = value.find_first_of("\\\t\n\r");
        out.append(value.substr(0, special));
        if (special == std::string_view::npos) return;
        out.push_back('\\');
        const char c = value[special];
        out.push_back(c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
        value.remove_prefix(special + 1);
    }
}

// The batch in one COPY statement: all rows or none, like the INSERT.
void copy_jobs(PGconn* conn, const detail::StoreSql& sql, std::span<const NewJob> jobs, std::size_t payload_bytes) {
    if (conn == nullptr) throw ConnectionError("database connection failed: no connection");
    const bool timed = jobs.front().options.run_at.has_value();
    const std::string& statement = timed ? sql.enqueue_copy_run_at : sql.enqueue_copy;
    const bool was_connected = PQstatus(conn) == CONNECTION_OK;
    {
        pg::ResultPtr start(PQexec(conn, statement.c_str()));
        if (PQresultStatus(start.get()) != PGRES_COPY_IN) pg::throw_error(conn, start.get(), statement, was_connected);
    }
    constexpr std::size_t chunk = std::size_t{1} << 20;
    std::string buffer;
    buffer.reserve(std::min(chunk, payload_bytes + jobs.size() * 96) + 4096);
    bool sent = true;  // false once the connection refused data: the result says why
    auto send = [&] {
        if (sent && !buffer.empty()) sent = PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) == 1;
        buffer.clear();
    };
    // Whatever is thrown while the rows are being sent (out of memory) must
    // not leave the connection in COPY: the server is told to abandon it.
    struct Abandon {
        PGconn* conn;
        bool armed = true;
        ~Abandon() {
            if (!armed) return;
            PQputCopyEnd(conn, "seesaw: the enqueue failed while sending its rows");
            while (PGresult* r = PQgetResult(conn)) PQclear(r);
        }
    } abandon{conn};
    for (const auto& job : jobs) {
        buffer += job.id.to_string();
        buffer.push_back('\t');
        append_copy_value(buffer, job.job_type);
        buffer.push_back('\t');
        append_copy_value(buffer, job.payload);
        buffer.push_back('\t');
        append_copy_value(buffer, queue_of(job.options));
        buffer.push_back('\t');
        buffer += pg::to_text(priority_of(job.options));
        buffer.push_back('\t');
        buffer += pg::to_text(max_retries_of(job.options));
        buffer.push_back('\t');
        buffer += pg::to_text(job.options.version);
        if (timed) {
            buffer.push_back('\t');
            buffer += pg::timestamp_literal(*job.options.run_at);
        }
        buffer.push_back('\n');
        if (buffer.size() >= chunk) send();
    }
    send();
    abandon.armed = false;
    PQputCopyEnd(conn, nullptr);
    pg::ResultPtr result(PQgetResult(conn));
    while (PGresult* more = PQgetResult(conn)) PQclear(more);
    pg::check(conn, result.get(), statement, was_connected);
}

std::vector<Enqueued> insert_many(PGconn* conn, const detail::StoreSql& sql, std::span<const NewJob> jobs) {
    if (jobs.empty()) return {};
    const auto payload_bytes = detail::validate_new_jobs(jobs);
    if (detail::any_unique(jobs)) return insert_unique(conn, sql, jobs);
    if (copy_fits(jobs)) {
        copy_jobs(conn, sql, jobs, payload_bytes);
    } else {
        const auto arrays = detail::enqueue_batch_arrays(jobs, payload_bytes);
        pg::Params params;
        for (const auto& a : arrays) params.add(a);
        pg::exec(conn, sql.enqueue_batch, params);
    }
    std::vector<Enqueued> out;
    out.reserve(jobs.size());
    for (const auto& job : jobs) out.push_back(Enqueued{job.id, true});
    return out;
}

// A free worker of a local dispatcher, reserved for one job.
struct FastSlot {
    std::shared_ptr<detail::LocalRunner> runner;
    std::size_t queue = 0;
};

// Only a job that is due at once and has no unique key can take the fast path.
bool fast_path_candidate(const NewJob& job) noexcept {
    return !job.options.unique_key && !job.options.run_at && job.options.delay.count() <= 0;
}

std::int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

detail::FastJob fast_job(const NewJob& job, std::size_t queue, Timestamp created_at, std::int64_t sent_ns) {
    detail::FastJob fast;
    fast.id = job.id;
    fast.job_type = job.job_type;
    fast.payload = job.payload;
    fast.queue = queue;
    fast.priority = priority_of(job.options);
    fast.max_retries = max_retries_of(job.options);
    fast.version = job.options.version;
    fast.created_at = created_at;
    fast.sent_ns = sent_ns;
    return fast;
}

// Inserts a job with enqueue_fast: running and leased to the slot's
// dispatcher, or pending when a job of its queue with the same or a higher
// priority is due (or the queue is paused). The job, when it is running.
std::optional<detail::FastJob> insert_fast(Connection& conn, const detail::StoreSql& sql, const NewJob& job,
                                           const FastSlot& slot, std::chrono::milliseconds lease, bool prepare) {
    detail::EnqueueParams params(job);
    const std::string lease_ms = pg::to_text(lease.count());
    std::array<Param, 11> all{};
    std::copy(params.get().begin(), params.get().end(), all.begin());
    all[9] = slot.runner->worker_id();
    all[10] = lease_ms;
    const auto sent = steady_now_ns();
    auto result = prepare ? conn.execute_prepared(sql.enqueue_fast_name, sql.enqueue_fast, all)
                          : conn.execute(sql.enqueue_fast, all);
    if (result.rows() != 1 || result.get(0, 0) != "t") return std::nullopt;
    return fast_job(job, slot.queue, Timestamp(std::chrono::microseconds(result.get_int64(0, 1))), sent);
}

std::vector<JobId> ids_of(const std::vector<Enqueued>& enqueued) {
    std::vector<JobId> ids;
    ids.reserve(enqueued.size());
    for (const auto& e : enqueued) ids.push_back(e.id);
    return ids;
}

}  // namespace

std::string make_worker_id() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    std::random_device device;
    char tail[9];
    std::snprintf(tail, sizeof tail, "%08x", device());
    return std::string(host) + ":" + std::to_string(getpid()) + ":" + tail;
}

namespace detail {

// The dispatchers of this process attached to a store (and its copies).
struct LocalRunners {
    std::mutex mutex;
    std::vector<std::shared_ptr<LocalRunner>> runners;
    std::atomic<std::size_t> count{0};  // runners.size(), read without the lock

    std::optional<FastSlot> reserve(const NewJob& job) {
        if (count.load(std::memory_order_acquire) == 0 || !fast_path_candidate(job)) return std::nullopt;
        std::lock_guard lock(mutex);
        for (auto& runner : runners) {
            if (auto queue = runner->reserve(queue_of(job.options), job.job_type)) return FastSlot{runner, *queue};
        }
        return std::nullopt;
    }
};

}  // namespace detail

void PgJobStore::attach_local_runner(std::shared_ptr<detail::LocalRunner> runner) {
    std::lock_guard lock(local_->mutex);
    local_->runners.push_back(std::move(runner));
    local_->count.store(local_->runners.size(), std::memory_order_release);
}

void PgJobStore::detach_local_runner(const detail::LocalRunner* runner) {
    std::lock_guard lock(local_->mutex);
    std::erase_if(local_->runners, [runner](const auto& r) { return r.get() == runner; });
    local_->count.store(local_->runners.size(), std::memory_order_release);
}

PgJobStore::PgJobStore(PgPool pool, PgJobStoreOptions options)
    : pool_(std::move(pool)), options_(std::move(options)), local_(std::make_shared<detail::LocalRunners>()) {
    if (options_.schema.empty()) throw UsageError("PgJobStoreOptions::schema must not be empty");
    if (options_.lease_timeout.count() <= 0) {
        throw UsageError("lease timeout must be positive, got " + std::to_string(options_.lease_timeout.count()) +
                         " ms");
    }
    if (options_.transaction_pooling) options_.prepared_statements = false;
    prepare_ = std::make_shared<std::atomic<bool>>(options_.prepared_statements);
    sql_ = std::make_shared<const detail::StoreSql>(options_.schema, options_.delete_succeeded);
}

bool PgJobStore::prepared_lost(const SqlError& error, const Connection& connection) {
    if (error.sqlstate() != "26000" && error.sqlstate() != "42P05") return false;
    if (prepare_->exchange(false)) {
        log(LogLevel::warn, "seesaw store (schema " + options_.schema + "): the server lost or already had a prepared "
                            "statement (" + error.sqlstate() + "; is the database URL PgBouncer in transaction mode? "
                            "set PgJobStoreOptions::transaction_pooling): preparing nothing from now on");
    }
    return !connection.in_transaction();
}

PgJobStore PgJobStore::with_lease_timeout(PgPool pool, std::int64_t lease_timeout_ms) {
    PgJobStoreOptions options;
    options.lease_timeout = std::chrono::milliseconds(lease_timeout_ms);
    return PgJobStore(std::move(pool), std::move(options));
}

Enqueued PgJobStore::insert(const NewJob& job) {
    detail::validate_new_job(job, 0, 1);  // before borrowing a connection
    auto conn = pool_.acquire();
    auto slot = local_->reserve(job);
    if (!slot) return with_prepared(*conn, [&](bool prepare) { return insert_one(*conn, *sql_, job, prepare); });
    // One statement outside a transaction: committed once it answers.
    std::optional<detail::FastJob> fast;
    try {
        fast = with_prepared(*conn, [&](bool prepare) {
            return insert_fast(*conn, *sql_, job, *slot, options_.lease_timeout, prepare);
        });
    } catch (const InDoubtError&) {
        // It may have committed: the dispatcher looks, and runs it if it did.
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        auto maybe = fast_job(job, slot->queue, Timestamp(now), steady_now_ns());
        slot->runner->verify(std::move(maybe));
        throw;
    } catch (...) {
        slot->runner->cancel(slot->queue);
        throw;
    }
    if (fast) {
        slot->runner->hand_over(std::move(*fast));
    } else {
        slot->runner->cancel(slot->queue);
    }
    return Enqueued{job.id, true};
}

Enqueued PgJobStore::insert_in(Transaction& transaction, const NewJob& job) {
    detail::validate_new_job(job, 0, 1);
    if (detail::TransactionAccess::ended(transaction))
        throw UsageError("enqueue_in: the transaction has ended already");
    auto slot = local_->reserve(job);
    if (!slot) {
        return with_prepared(transaction.connection(),
                             [&](bool prepare) { return insert_one(transaction.connection(), *sql_, job, prepare); });
    }
    std::optional<detail::FastJob> fast;
    try {
        // Inside the transaction nothing commits here, whatever happens.
        fast = with_prepared(transaction.connection(), [&](bool prepare) {
            return insert_fast(transaction.connection(), *sql_, job, *slot, options_.lease_timeout, prepare);
        });
    } catch (...) {
        slot->runner->cancel(slot->queue);
        throw;
    }
    if (!fast) {
        slot->runner->cancel(slot->queue);
        return Enqueued{job.id, true};
    }
    // The reservation ends with the transaction: the worker stays free for
    // the job until then.
    transaction.on_end([runner = slot->runner, job = std::move(*fast)](TransactionEnd how) mutable {
        switch (how) {
            case TransactionEnd::committed: runner->hand_over(std::move(job)); break;
            case TransactionEnd::unknown: runner->verify(std::move(job)); break;
            case TransactionEnd::rolled_back: runner->cancel(job.queue); break;
        }
    });
    return Enqueued{job.id, true};
}

JobId PgJobStore::enqueue_in(Transaction& transaction, const NewJob& job) { return insert_in(transaction, job).id; }

std::vector<Enqueued> PgJobStore::insert_batch(std::span<const NewJob> jobs) {
    if (jobs.empty()) return {};
    auto conn = pool_.acquire();
    return insert_many(conn->native(), *sql_, jobs);
}

Enqueued PgJobStore::insert_in(Connection& connection, const NewJob& job) {
    detail::validate_new_job(job, 0, 1);
    return with_prepared(connection, [&](bool prepare) { return insert_one(connection, *sql_, job, prepare); });
}

Enqueued PgJobStore::insert_in(pg_conn* connection, const NewJob& job) {
    detail::validate_new_job(job, 0, 1);
    return insert_one(connection, *sql_, job);
}

std::vector<Enqueued> PgJobStore::insert_batch_in(Connection& connection, std::span<const NewJob> jobs) {
    return insert_many(connection.native(), *sql_, jobs);
}

JobId PgJobStore::enqueue(const NewJob& job) { return insert(job).id; }

std::vector<JobId> PgJobStore::enqueue_batch(std::span<const NewJob> jobs) { return ids_of(insert_batch(jobs)); }

JobId PgJobStore::enqueue_in(Connection& connection, const NewJob& job) { return insert_in(connection, job).id; }

JobId PgJobStore::enqueue_in(pg_conn* connection, const NewJob& job) { return insert_in(connection, job).id; }

std::vector<JobId> PgJobStore::enqueue_batch_in(Connection& connection, std::span<const NewJob> jobs) {
    return ids_of(insert_batch_in(connection, jobs));
}

std::vector<ClaimedJob> PgJobStore::claim_ready(std::string_view worker_id, std::size_t limit,
                                                const ClaimFilter& filter) {
    if (worker_id.empty()) throw UsageError("claim_ready: worker_id must not be empty");
    if (limit == 0) return {};
    const std::string types = detail::job_types_literal(filter.job_types);
    // The caller runs what it claims: every job goes straight to a free
    // worker (counts as started), and the claim is durable before it returns.
    const detail::ClaimRequest request{worker_id, filter.queue, limit, filter.job_types.empty() ? nullptr : &types,
                                       options_.lease_timeout, limit, 0, true};
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->claim, detail::claim_params(request),
                           detail::claim_null_params(request));
    std::vector<ClaimedJob> jobs;
    jobs.reserve(static_cast<std::size_t>(PQntuples(result.get())));
    for (const auto& row : detail::decode_claim(result.get())) jobs.push_back(claimed_job(row, worker_id));
    return jobs;
}

std::vector<JobId> PgJobStore::mark_succeeded_batch(std::span<const JobLease> leases) {
    if (leases.empty()) return {};
    auto conn = pool_.acquire();
    return fenced_out(*conn, leases, [&](std::string_view worker_id, std::vector<detail::LeaseRef> refs) {
        auto result = pg::exec(conn->native(), sql_->succeed, detail::lease_params(refs, worker_id));
        return listed(refs, result.get());
    });
}

void PgJobStore::mark_succeeded(const JobLease& lease) {
    if (!mark_succeeded_batch(std::span(&lease, 1)).empty()) throw_lease_lost(lease, "mark succeeded");
}

std::vector<FailResult> PgJobStore::mark_failed_batch(std::span<const FailureReport> failures) {
    if (failures.empty()) return {};
    std::vector<FailResult> out;
    out.reserve(failures.size());
    for (const auto& f : failures) out.push_back(FailResult{f.lease.id, FailOutcome::lease_lost, 0, {}});
    auto lease_of = [](const FailureReport& f) -> const JobLease& { return f.lease; };
    auto conn = pool_.acquire();
    for_each_worker(*conn, failures, lease_of, [&](std::string_view worker_id, const Group& group) {
        std::vector<detail::FailureRef> refs;
        refs.reserve(group.size());
        for (auto i : group) {
            const auto& f = failures[i];
            auto delay = f.retry_delay ? *f.retry_delay : options_.retry_policy.delay(f.lease.attempt);
            refs.push_back({f.lease.id, f.lease.attempt, f.error, detail::fail_kind(f.kind), delay});
        }
        auto result = pg::exec(conn->native(), sql_->fail, detail::fail_params(refs, worker_id));
        std::unordered_map<JobId, detail::FailWritten> written;
        for (const auto& row : detail::decode_fail(result.get())) written.emplace(row.id, row);
        for (auto i : group) {
            auto found = written.find(failures[i].lease.id);
            if (found == written.end()) continue;
            const auto& row = found->second;
            out[i].outcome = row.retried() ? FailOutcome::retry_scheduled : FailOutcome::dead_lettered;
            if (row.retried()) {
                out[i].next_attempt = row.attempt;
                out[i].retry_in = row.retry_in;
            }
        }
    });
    return out;
}

FailResult PgJobStore::mark_failed(const JobLease& lease, std::string_view error, ErrorKind kind) {
    FailureReport report{lease, std::string(error), kind, std::nullopt};
    auto result = mark_failed_batch(std::span(&report, 1)).front();
    if (result.outcome == FailOutcome::lease_lost) throw_lease_lost(lease, "mark failed");
    return result;
}

std::vector<JobId> PgJobStore::heartbeat_batch(std::span<const JobLease> leases) {
    if (leases.empty()) return {};
    auto conn = pool_.acquire();
    return fenced_out(*conn, leases, [&](std::string_view worker_id, std::vector<detail::LeaseRef> refs) {
        auto result = pg::exec(conn->native(), sql_->heartbeat,
                               detail::heartbeat_params(refs, worker_id, options_.lease_timeout));
        const auto extended = detail::returned_leases(result.get());
        return std::set<detail::LeaseRef>(extended.begin(), extended.end());
    });
}

void PgJobStore::heartbeat(const JobLease& lease) {
    if (!heartbeat_batch(std::span(&lease, 1)).empty()) throw_lease_lost(lease, "extend the lease of");
}

bool PgJobStore::release(const JobLease& lease) {
    std::vector<detail::LeaseRef> refs = {{lease.id, lease.attempt}};
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->release, detail::lease_params(refs, lease.worker_id));
    return PQntuples(result.get()) == 1;
}

std::uint64_t PgJobStore::reclaim_expired() {
    auto conn = pool_.acquire();
    pg::Params params;
    params.add_owned(pg::to_text(maintenance_batch));
    params.add_owned(pg::to_text(options_.retry_policy.base.count()));
    params.add_owned(pg::to_text(options_.retry_policy.cap.count()));
    params.add(options_.schema);
    std::uint64_t total = 0;
    while (true) {
        auto result = pg::exec(conn->native(), sql_->reclaim, params);
        auto n = static_cast<std::uint64_t>(PQntuples(result.get()));
        total += n;
        if (n < static_cast<std::uint64_t>(maintenance_batch)) return total;
    }
}

namespace {
std::uint64_t delete_in_batches(PGconn* conn, const std::string& sql, JobStatus status,
                                std::optional<Timestamp> cutoff, std::chrono::milliseconds age) {
    pg::Params params;
    params.add(to_string(status));
    if (cutoff)
        params.add_owned(pg::timestamp_literal(*cutoff));
    else
        params.add_null();
    params.add_owned(pg::to_text(age.count()));
    params.add_owned(pg::to_text(maintenance_batch));
    std::uint64_t total = 0;
    while (true) {
        auto result = pg::exec(conn, sql, params);
        auto n = QueryResult(result.release()).affected_rows();
        total += n;
        if (n < static_cast<std::uint64_t>(maintenance_batch)) return total;
    }
}
}  // namespace

std::uint64_t PgJobStore::cleanup_succeeded(Timestamp cutoff) {
    auto conn = pool_.acquire();
    return delete_in_batches(conn->native(), sql_->cleanup, JobStatus::succeeded, cutoff, {});
}

std::uint64_t PgJobStore::cleanup(JobStatus status, std::chrono::milliseconds age) {
    if (status != JobStatus::succeeded && status != JobStatus::dead_letter && status != JobStatus::cancelled) {
        throw UsageError("cleanup removes succeeded, dead_letter or cancelled jobs only, not " +
                         std::string(to_string(status)));
    }
    if (age.count() < 0) throw UsageError("cleanup: the age must not be negative");
    auto conn = pool_.acquire();
    return delete_in_batches(conn->native(), sql_->cleanup, status, std::nullopt, age);
}

std::map<std::string, QueueStats> PgJobStore::stats_by_queue() {
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->stats);
    std::map<std::string, QueueStats> out;
    std::int64_t change_rows = 0;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
        auto status = parse_job_status(pg::value(result.get(), row, 1));
        if (!status) continue;
        out[std::string(pg::value(result.get(), row, 0))][*status] +=
            pg::to_int<std::int64_t>(pg::value(result.get(), row, 2));
        change_rows += pg::to_int<std::int64_t>(pg::value(result.get(), row, 3));
    }
    std::erase_if(out, [](const auto& entry) { return entry.second.total() == 0; });
    // Keep the change rows few, so the next stats() stays cheap.
    if (change_rows > 10'000) pg::exec(conn->native(), sql_->compact_stats);
    return out;
}

QueueStats PgJobStore::stats() {
    QueueStats total;
    for (const auto& [queue, counts] : stats_by_queue()) {
        total.pending += counts.pending;
        total.running += counts.running;
        total.succeeded += counts.succeeded;
        total.failed += counts.failed;
        total.dead_letter += counts.dead_letter;
        total.cancelled += counts.cancelled;
    }
    return total;
}

std::uint64_t PgJobStore::compact_stats() {
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->compact_stats);
    return static_cast<std::uint64_t>(pg::to_int<std::int64_t>(pg::value(result.get(), 0, 0)));
}

namespace {

// dead_letter → pending, attempt reset, for the ids of a uuid[] literal (or
// all) of a type (or any), and wakes idle dispatchers of their queues.
std::uint64_t retry_dead_letters_of(PGconn* conn, const detail::StoreSql& sql, const std::string* ids,
                                    std::optional<std::string_view> job_type) {
    pg::Params params;
    params.add_param(ids != nullptr ? Param(*ids) : std::nullopt);
    params.add_param(job_type);
    params.add(sql.schema);
    auto result = pg::exec(conn, sql.retry_dead_letters, params);
    return static_cast<std::uint64_t>(pg::to_int<std::int64_t>(pg::value(result.get(), 0, 0)));
}

std::string held_key_problem(const JobId& id, std::string_view key, std::string_view holder) {
    return "job " + id.to_string() + " cannot be retried: its unique key '" + std::string(key) +
           "' is held by job " + std::string(holder);
}

template <class Ids>
std::string uuid_array(const Ids& ids) {
    pg::ArrayLiteral array;
    array.reserve(ids.size() * 37 + 2);
    for (const auto& id : ids) array.add(id);
    return std::move(array).finish();
}

}  // namespace

bool PgJobStore::retry_dead_letter(const JobId& id) {
    const std::string ids = uuid_array(std::span(&id, 1));
    auto conn = pool_.acquire();
    if (retry_dead_letters_of(conn->native(), *sql_, &ids, std::nullopt) == 1) return true;
    // Not a dead letter (false), or one whose unique key another job holds.
    pg::Params params;
    params.add(ids);
    auto found = pg::exec(conn->native(), sql_->lock_jobs, params);
    if (PQntuples(found.get()) == 1 && pg::value(found.get(), 0, 1) == to_string(JobStatus::dead_letter) &&
        !PQgetisnull(found.get(), 0, 3)) {
        throw UsageError(held_key_problem(id, pg::value(found.get(), 0, 2), pg::value(found.get(), 0, 3)));
    }
    return false;
}

std::uint64_t PgJobStore::retry_all_dead_letters(std::optional<std::string_view> job_type) {
    auto conn = pool_.acquire();
    return retry_dead_letters_of(conn->native(), *sql_, nullptr, job_type);
}

std::uint64_t PgJobStore::retry_dead_letters(std::span<const JobId> ids) {
    const std::set<JobId> wanted(ids.begin(), ids.end());
    if (wanted.empty()) return 0;
    const std::string array = uuid_array(wanted);
    auto conn = pool_.acquire();
    Transaction tx(*conn);
    // Lock the rows first, so that what is checked is what is retried.
    pg::Params params;
    params.add(array);
    auto found = pg::exec(conn->native(), sql_->lock_jobs, params);
    struct Found {
        std::string status;
        std::string unique_key;
        std::optional<std::string> holder;  // another job holding its unique key
    };
    std::map<JobId, Found> status_of;
    for (int row = 0; row < PQntuples(found.get()); ++row) {
        Found f{std::string(pg::value(found.get(), row, 1)), std::string(pg::value(found.get(), row, 2)), {}};
        if (!PQgetisnull(found.get(), row, 3)) f.holder = std::string(pg::value(found.get(), row, 3));
        status_of.emplace(JobId::parse(pg::value(found.get(), row, 0)), std::move(f));
    }
    std::string problems;
    for (const auto& id : wanted) {
        auto it = status_of.find(id);
        std::string problem;
        if (it == status_of.end())
            problem = "no job with id " + id.to_string();
        else if (it->second.status != to_string(JobStatus::dead_letter))
            problem = "job " + id.to_string() + " is " + it->second.status + ", not in the dead letter queue";
        else if (it->second.holder)
            problem = held_key_problem(id, it->second.unique_key, *it->second.holder);
        if (problem.empty()) continue;
        problems += (problems.empty() ? "" : "; ") + problem;
    }
    if (!problems.empty()) throw UsageError(problems + " (nothing was retried)");
    const auto retried = retry_dead_letters_of(conn->native(), *sql_, &array, std::nullopt);
    tx.commit();
    return retried;
}

namespace {

std::vector<CancelResult> decode_cancelled(const PGresult* result) {
    std::vector<CancelResult> out;
    out.reserve(static_cast<std::size_t>(PQntuples(result)));
    for (int row = 0; row < PQntuples(result); ++row) {
        out.push_back(CancelResult{JobId::parse(pg::value(result, row, 0)), pg::value(result, row, 2) == "t",
                                   parse_job_status(pg::value(result, row, 1)).value_or(JobStatus::pending)});
    }
    return out;
}

}  // namespace

CancelResult PgJobStore::cancel(const JobId& id) { return cancel(std::span(&id, 1)).front(); }

std::vector<CancelResult> PgJobStore::cancel(std::span<const JobId> ids) {
    const std::set<JobId> wanted(ids.begin(), ids.end());
    if (wanted.empty()) return {};
    pg::Params params;
    params.add_owned(uuid_array(wanted));
    params.add_null();
    params.add_null();
    auto conn = pool_.acquire();
    Transaction tx(*conn);
    auto result = pg::exec(conn->native(), sql_->cancel_jobs, params);
    auto found = decode_cancelled(result.get());
    std::map<JobId, CancelResult> by_id;
    for (const auto& r : found) by_id.emplace(r.id, r);
    std::string missing;
    for (const auto& id : wanted) {
        if (!by_id.contains(id)) missing += (missing.empty() ? "" : ", ") + id.to_string();
    }
    if (!missing.empty()) {
        throw UsageError("no job with id " + missing + (wanted.size() > 1 ? " (nothing was cancelled)" : ""));
    }
    tx.commit();
    std::vector<CancelResult> out;
    out.reserve(ids.size());
    // An id given twice is answered as a second cancel would be: the first
    // time cancelled it, the second finds it cancelled.
    for (const auto& id : ids) {
        auto& answer = by_id.at(id);
        out.push_back(answer);
        if (answer.cancelled) answer = CancelResult{id, false, JobStatus::cancelled};
    }
    return out;
}

std::uint64_t PgJobStore::cancel_all(const CancelFilter& filter) {
    if (!filter.job_type && !filter.queue)
        throw UsageError("cancel_all: name a job type or a queue (or both); to cancel jobs by id, use cancel()");
    if (filter.job_type) validate_job_type(*filter.job_type, "cancel_all: the job type");
    if (filter.queue) validate_queue_name(*filter.queue, "cancel_all: the queue");
    pg::Params params;
    params.add_null();
    params.add_param(filter.job_type ? Param(*filter.job_type) : std::nullopt);
    params.add_param(filter.queue ? Param(*filter.queue) : std::nullopt);
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->cancel_jobs, params);
    std::uint64_t n = 0;
    for (const auto& r : decode_cancelled(result.get())) n += r.cancelled ? 1 : 0;
    return n;
}

namespace {
bool call_queue_function(PgPool& pool, const std::string& sql, std::string_view queue, std::string_view what) {
    validate_queue_name(queue, what);
    pg::Params params;
    params.add(queue);
    auto conn = pool.acquire();
    auto result = pg::exec(conn->native(), sql, params);
    return pg::value(result.get(), 0, 0) == "t";
}
}  // namespace

bool PgJobStore::pause_queue(std::string_view queue) {
    return call_queue_function(pool_, sql_->pause_queue, queue, "pause_queue: the queue name");
}

bool PgJobStore::resume_queue(std::string_view queue) {
    return call_queue_function(pool_, sql_->resume_queue, queue, "resume_queue: the queue name");
}

std::vector<QueueInfo> PgJobStore::queues() {
    std::map<std::string, QueueInfo> by_name;
    for (auto& [name, counts] : stats_by_queue()) by_name[name] = QueueInfo{name, counts, false, std::nullopt};
    {
        auto conn = pool_.acquire();
        auto result = pg::exec(conn->native(), sql_->paused_queues);
        for (int row = 0; row < PQntuples(result.get()); ++row) {
            std::string name(pg::value(result.get(), row, 0));
            auto& info = by_name[name];
            info.name = name;
            info.paused = true;
            info.paused_at = pg::to_timestamp_us(pg::value(result.get(), row, 1));
        }
    }
    std::vector<QueueInfo> out;
    out.reserve(by_name.size());
    for (auto& [name, info] : by_name) out.push_back(std::move(info));
    return out;
}

std::vector<PeriodicSchedule> PgJobStore::periodic_schedules() {
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->periodic_schedules);
    auto* r = result.get();
    std::vector<PeriodicSchedule> out;
    for (int row = 0; row < PQntuples(r); ++row) {
        out.push_back(PeriodicSchedule{std::string(pg::value(r, row, 0)), std::string(pg::value(r, row, 1)),
                                       std::string(pg::value(r, row, 2)), std::string(pg::value(r, row, 3)),
                                       pg::optional_timestamp_us(r, row, 4), pg::optional_timestamp_us(r, row, 5),
                                       std::string(pg::value(r, row, 6)), pg::to_timestamp_us(pg::value(r, row, 7))});
    }
    return out;
}

std::map<std::string, std::chrono::microseconds> PgJobStore::oldest_pending_ages(
    std::optional<std::string_view> queue) {
    pg::Params params;
    params.add_param(queue);
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->oldest_pending_ages, params);
    std::map<std::string, std::chrono::microseconds> ages;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
        ages.emplace(pg::value(result.get(), row, 0),
                     std::chrono::microseconds(pg::to_int<std::int64_t>(pg::value(result.get(), row, 1))));
    }
    return ages;
}

std::optional<Job> PgJobStore::get_job(const JobId& id) {
    pg::Params params;
    params.add_owned(id.to_string());
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->get_job, params);
    if (PQntuples(result.get()) == 0) return std::nullopt;
    return parse_job(result.get(), 0);
}

std::vector<Job> PgJobStore::list_jobs(const JobQuery& query) {
    pg::Params params;
    if (query.status)
        params.add(to_string(*query.status));
    else
        params.add_null();
    if (query.job_type)
        params.add(*query.job_type);
    else
        params.add_null();
    if (query.queue)
        params.add(*query.queue);
    else
        params.add_null();
    params.add_owned(pg::to_text(
        static_cast<std::int64_t>(std::min<std::size_t>(query.limit, std::numeric_limits<std::int64_t>::max()))));
    auto conn = pool_.acquire();
    const auto& sql = query.order_by == JobOrder::updated_at ? sql_->list_jobs_by_update : sql_->list_jobs;
    auto result = pg::exec(conn->native(), sql, params);
    std::vector<Job> jobs;
    for (int row = 0; row < PQntuples(result.get()); ++row) jobs.push_back(parse_job(result.get(), row));
    return jobs;
}

}  // namespace seesaw

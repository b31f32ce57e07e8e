#include "seesaw/store/pg_job_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "enqueue_params.hpp"
#include "pg.hpp"
#include "seesaw/core/error.hpp"
#include "store_sql.hpp"

namespace seesaw {
namespace {

// Rows per statement of the maintenance loops: short transactions, no long locks.
constexpr std::int64_t maintenance_batch = 5000;

ClaimedJob parse_claimed(const PGresult* r, int row, std::string_view worker_id) {
    using namespace detail;
    ClaimedJob job;
    job.id = JobId::parse(pg::value(r, row, claim_id));
    job.job_type = pg::value(r, row, claim_job_type);
    job.queue = pg::value(r, row, claim_queue);
    job.payload = pg::value(r, row, claim_payload);
    job.worker_id = worker_id;
    job.version = pg::to_int<std::int32_t>(pg::value(r, row, claim_version));
    job.attempt = pg::to_int<std::int32_t>(pg::value(r, row, claim_attempt));
    job.max_retries = pg::to_int<std::int32_t>(pg::value(r, row, claim_max_retries));
    job.priority = pg::to_int<std::int32_t>(pg::value(r, row, claim_priority));
    job.run_at = pg::to_timestamp_us(pg::value(r, row, claim_run_at_us));
    job.created_at = pg::to_timestamp_us(pg::value(r, row, claim_created_at_us));
    job.lease_expires_at = pg::to_timestamp_us(pg::value(r, row, claim_lease_expires_at_us));
    return job;
}

Job parse_job(const PGresult* r, int row) {
    using namespace detail;
    auto optional_text = [&](int column) -> std::optional<std::string> {
        if (PQgetisnull(r, row, column)) return std::nullopt;
        return std::string(pg::value(r, row, column));
    };
    auto optional_time = [&](int column) -> std::optional<Timestamp> {
        if (PQgetisnull(r, row, column)) return std::nullopt;
        return pg::to_timestamp_us(pg::value(r, row, column));
    };
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
    return job;
}

// The three arrays every fenced batch statement takes ($1 ids, $2 attempts, $3 workers).
struct LeaseArrays {
    std::string ids, attempts, workers;
};

// Items sorted by job id: statements that update the same jobs from several
// connections then lock rows in the same order and cannot deadlock.
template <class T, class LeaseOf>
std::vector<T> by_id(std::span<const T> items, LeaseOf lease_of) {
    std::vector<T> sorted(items.begin(), items.end());
    std::sort(sorted.begin(), sorted.end(), [&](const T& a, const T& b) { return lease_of(a).id < lease_of(b).id; });
    return sorted;
}

template <class Range, class LeaseOf>
LeaseArrays lease_arrays(const Range& items, LeaseOf lease_of) {
    pg::ArrayLiteral ids, attempts, workers;
    ids.reserve(items.size() * 37 + 2);
    for (const auto& item : items) {
        const JobLease& lease = lease_of(item);
        ids.add(lease.id);
        attempts.add(std::int64_t{lease.attempt});
        workers.add(lease.worker_id);
    }
    return {std::move(ids).finish(), std::move(attempts).finish(), std::move(workers).finish()};
}

// Ids of `leases` that the statement's RETURNING id did not list.
std::vector<JobId> missing_ids(std::span<const JobLease> leases, const PGresult* written) {
    std::unordered_set<JobId> done;
    done.reserve(static_cast<std::size_t>(PQntuples(written)));
    for (int row = 0; row < PQntuples(written); ++row) done.insert(JobId::parse(pg::value(written, row, 0)));
    std::vector<JobId> lost;
    for (const auto& lease : leases)
        if (!done.contains(lease.id)) lost.push_back(lease.id);
    return lost;
}

pg::ResultPtr run_fenced(PGconn* conn, const std::string& sql, const LeaseArrays& arrays,
                         const std::vector<std::string>& extra) {
    pg::Params params;
    params.add(arrays.ids);
    params.add(arrays.attempts);
    params.add(arrays.workers);
    for (const auto& e : extra) params.add(e);
    return pg::exec(conn, sql, params);
}

[[noreturn]] void throw_lease_lost(const JobLease& lease, std::string_view action) {
    throw LeaseLostError("cannot " + std::string(action) + " job " + lease.id.to_string() + ": worker '" +
                         lease.worker_id + "' no longer holds attempt " + std::to_string(lease.attempt) +
                         " (the lease expired and was reclaimed, or the job was completed)");
}

JobId insert_one(PGconn* conn, const detail::StoreSql& sql, const NewJob& job) {
    detail::EnqueueParams params(job);
    pg::Params packed;
    for (const auto& p : params.get()) packed.add_param(p);
    pg::exec(conn, sql.enqueue, packed);
    return job.id;
}

// On a connection that keeps its prepared statements: parsed and planned once.
JobId insert_one(Connection& conn, const detail::StoreSql& sql, const NewJob& job, bool prepare) {
    if (!prepare) return insert_one(conn.native(), sql, job);
    detail::EnqueueParams params(job);
    conn.execute_prepared(sql.enqueue_name, sql.enqueue, params.get());
    return job.id;
}

std::vector<JobId> insert_many(PGconn* conn, const detail::StoreSql& sql, std::span<const NewJob> jobs) {
    if (jobs.empty()) return {};
    const auto arrays = detail::enqueue_batch_arrays(jobs, detail::validate_new_jobs(jobs));
    pg::Params params;
    for (const auto& a : arrays) params.add(a);
    pg::exec(conn, sql.enqueue_batch, params);
    std::vector<JobId> out;
    out.reserve(jobs.size());
    for (const auto& job : jobs) out.push_back(job.id);
    return out;
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

PgJobStore::PgJobStore(PgPool pool, PgJobStoreOptions options)
    : pool_(std::move(pool)), options_(std::move(options)) {
    if (options_.schema.empty()) throw UsageError("PgJobStoreOptions::schema must not be empty");
    if (options_.lease_timeout.count() <= 0) {
        throw UsageError("lease timeout must be positive, got " + std::to_string(options_.lease_timeout.count()) +
                         " ms");
    }
    sql_ = std::make_shared<const detail::StoreSql>(options_.schema);
}

PgJobStore PgJobStore::with_lease_timeout(PgPool pool, std::int64_t lease_timeout_ms) {
    PgJobStoreOptions options;
    options.lease_timeout = std::chrono::milliseconds(lease_timeout_ms);
    return PgJobStore(std::move(pool), std::move(options));
}

JobId PgJobStore::enqueue(const NewJob& job) {
    detail::validate_new_job(job, 0, 1);  // before borrowing a connection
    auto conn = pool_.acquire();
    return insert_one(*conn, *sql_, job, options_.prepared_statements);
}

std::vector<JobId> PgJobStore::enqueue_batch(std::span<const NewJob> jobs) {
    if (jobs.empty()) return {};
    auto conn = pool_.acquire();
    return insert_many(conn->native(), *sql_, jobs);
}

JobId PgJobStore::enqueue_in(Connection& connection, const NewJob& job) {
    detail::validate_new_job(job, 0, 1);
    return insert_one(connection, *sql_, job, options_.prepared_statements);
}

JobId PgJobStore::enqueue_in(pg_conn* connection, const NewJob& job) {
    detail::validate_new_job(job, 0, 1);
    return insert_one(connection, *sql_, job);
}

std::vector<JobId> PgJobStore::enqueue_batch_in(Connection& connection, std::span<const NewJob> jobs) {
    return insert_many(connection.native(), *sql_, jobs);
}

std::vector<ClaimedJob> PgJobStore::claim_ready(std::string_view worker_id, std::size_t limit,
                                                const ClaimFilter& filter) {
    if (worker_id.empty()) throw UsageError("claim_ready: worker_id must not be empty");
    if (limit == 0) return {};
    pg::Params params;
    params.add(worker_id);
    params.add(filter.queue);
    // SIZE_MAX means "all": keep it a valid LIMIT.
    params.add_owned(pg::to_text(
        static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()))));
    if (filter.job_types.empty()) {
        params.add_null();
    } else {
        pg::ArrayLiteral types;
        for (const auto& t : filter.job_types) types.add(t);
        params.add_owned(std::move(types).finish());
    }
    params.add_owned(pg::to_text(options_.lease_timeout.count()));
    // The caller runs what it claims: every job counts as started, and the
    // claim is durable before it returns.
    params.add_owned(pg::to_text(std::numeric_limits<std::int64_t>::max()));
    params.add("0");
    params.add("on");
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->claim, params);
    const int rows = PQntuples(result.get());
    // UPDATE ... RETURNING does not keep the claim's order: restore it.
    std::vector<std::pair<std::int64_t, int>> order;
    order.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row)
        order.emplace_back(pg::to_int<std::int64_t>(pg::value(result.get(), row, detail::claim_order)), row);
    std::sort(order.begin(), order.end());
    std::vector<ClaimedJob> jobs;
    jobs.reserve(static_cast<std::size_t>(rows));
    for (const auto& [position, row] : order) jobs.push_back(parse_claimed(result.get(), row, worker_id));
    return jobs;
}

std::vector<JobId> PgJobStore::mark_succeeded_batch(std::span<const JobLease> leases) {
    if (leases.empty()) return {};
    auto lease_of = [](const JobLease& l) -> const JobLease& { return l; };
    auto arrays = lease_arrays(by_id(leases, lease_of), lease_of);
    auto conn = pool_.acquire();
    auto result = run_fenced(conn->native(), sql_->succeed_batch, arrays, {});
    return missing_ids(leases, result.get());
}

void PgJobStore::mark_succeeded(const JobLease& lease) {
    if (!mark_succeeded_batch(std::span(&lease, 1)).empty()) throw_lease_lost(lease, "mark succeeded");
}

std::vector<FailResult> PgJobStore::mark_failed_batch(std::span<const FailureReport> failures) {
    if (failures.empty()) return {};
    auto lease_of = [](const FailureReport& f) -> const JobLease& { return f.lease; };
    auto sorted = by_id(failures, lease_of);
    auto arrays = lease_arrays(sorted, lease_of);
    pg::ArrayLiteral errors, kinds, delays;
    for (const auto& f : sorted) {
        errors.add(f.error);
        kinds.add(to_string(f.kind));
        auto delay = f.retry_delay ? *f.retry_delay : options_.retry_policy.delay(f.lease.attempt);
        delays.add(static_cast<std::int64_t>(std::max<std::int64_t>(0, delay.count())));
    }
    auto conn = pool_.acquire();
    auto result = run_fenced(conn->native(), sql_->fail_batch, arrays,
                             {std::move(errors).finish(), std::move(kinds).finish(), std::move(delays).finish()});
    std::vector<FailResult> out;
    out.reserve(failures.size());
    std::unordered_map<JobId, std::size_t> index;
    for (const auto& f : failures) {
        index.emplace(f.lease.id, out.size());
        out.push_back(FailResult{f.lease.id, FailOutcome::lease_lost, 0, {}});
    }
    for (int row = 0; row < PQntuples(result.get()); ++row) {
        auto found = index.find(JobId::parse(pg::value(result.get(), row, 0)));
        if (found == index.end()) continue;
        auto it = out.begin() + static_cast<std::ptrdiff_t>(found->second);
        bool retried = pg::value(result.get(), row, 1) == "failed";
        it->outcome = retried ? FailOutcome::retry_scheduled : FailOutcome::dead_lettered;
        if (retried) {
            it->next_attempt = pg::to_int<std::int32_t>(pg::value(result.get(), row, 2));
            it->retry_in = std::chrono::milliseconds(pg::to_int<std::int64_t>(pg::value(result.get(), row, 3)));
        }
    }
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
    auto lease_of = [](const JobLease& l) -> const JobLease& { return l; };
    auto arrays = lease_arrays(by_id(leases, lease_of), lease_of);
    auto conn = pool_.acquire();
    auto result = run_fenced(conn->native(), sql_->heartbeat_batch, arrays,
                             {pg::to_text(options_.lease_timeout.count())});
    return missing_ids(leases, result.get());
}

void PgJobStore::heartbeat(const JobLease& lease) {
    if (!heartbeat_batch(std::span(&lease, 1)).empty()) throw_lease_lost(lease, "extend the lease of");
}

bool PgJobStore::release(const JobLease& lease) {
    auto arrays = lease_arrays(std::span(&lease, 1), [](const JobLease& l) -> const JobLease& { return l; });
    auto conn = pool_.acquire();
    auto result = run_fenced(conn->native(), sql_->release_batch, arrays, {});
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
    if (status != JobStatus::succeeded && status != JobStatus::dead_letter) {
        throw UsageError("cleanup removes succeeded or dead_letter jobs only, not " + std::string(to_string(status)));
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
    }
    return total;
}

std::uint64_t PgJobStore::compact_stats() {
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->compact_stats);
    return static_cast<std::uint64_t>(pg::to_int<std::int64_t>(pg::value(result.get(), 0, 0)));
}

bool PgJobStore::retry_dead_letter(const JobId& id) {
    pg::ArrayLiteral ids;
    ids.add(id);
    pg::Params params;
    params.add_owned(std::move(ids).finish());
    params.add_null();
    params.add(options_.schema);
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->retry_dead_letters, params);
    return pg::to_int<std::int64_t>(pg::value(result.get(), 0, 0)) == 1;
}

std::uint64_t PgJobStore::retry_all_dead_letters(std::optional<std::string_view> job_type) {
    pg::Params params;
    params.add_null();
    if (job_type)
        params.add(*job_type);
    else
        params.add_null();
    params.add(options_.schema);
    auto conn = pool_.acquire();
    auto result = pg::exec(conn->native(), sql_->retry_dead_letters, params);
    return static_cast<std::uint64_t>(pg::to_int<std::int64_t>(pg::value(result.get(), 0, 0)));
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
    auto result = pg::exec(conn->native(), sql_->list_jobs, params);
    std::vector<Job> jobs;
    for (int row = 0; row < PQntuples(result.get()); ++row) jobs.push_back(parse_job(result.get(), row));
    return jobs;
}

}  // namespace seesaw

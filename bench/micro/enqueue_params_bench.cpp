// The client side of a bulk enqueue of 10,000 jobs: what
// store/src/pg_job_store.cpp's insert_many does before the statement is
// sent: validate every job (checks, then validate_json_object on its
// payload), build the nine pg::ArrayLiteral parameters, pack them.
#include <vector>

#include "micro_support.hpp"
#include "pg.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job.hpp"
#include "seesaw/store/job_store.hpp"

namespace seesaw::bench {
namespace {

constexpr std::int64_t batch_jobs = 10'000;

std::vector<NewJob> make_jobs() {
    std::vector<NewJob> jobs;
    jobs.reserve(batch_jobs);
    for (std::int64_t i = 0; i < batch_jobs; ++i) {
        auto& job = jobs.emplace_back();
        job.job_type = "send_email";
        job.payload = encode_payload(sample_email(i));
    }
    return jobs;
}

// A copy of insert_many's validate() (it is file-local there), message
// building included: it runs for every job of the batch.
std::string job_label(const NewJob& job, std::size_t index, std::size_t count) {
    std::string label = "job type '" + job.job_type + "'";
    if (count > 1) label = "job " + std::to_string(index + 1) + " of " + std::to_string(count) + " (" + label + ")";
    return label;
}

void validate(const NewJob& job, std::size_t index, std::size_t count) {
    if (job.job_type.empty()) throw UsageError("job_type must not be empty");
    if (job.options.max_retries < 0) throw UsageError(job_label(job, index, count) + ": max_retries");
    if (job.options.queue.empty()) throw UsageError(job_label(job, index, count) + ": queue must not be empty");
    if (job.options.delay.count() < 0) throw UsageError(job_label(job, index, count) + ": delay");
    std::string what = "payload for " + job_label(job, index, count);
    validate_json_object(job.payload, what);
}

std::size_t validate_all(const std::vector<NewJob>& jobs) {
    std::size_t payload_bytes = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        validate(jobs[i], i, jobs.size());
        payload_bytes += jobs[i].payload.size();
    }
    return payload_bytes;
}

// insert_many's array building, as written there.
std::vector<std::string> build_arrays(const std::vector<NewJob>& jobs, std::size_t payload_bytes) {
    pg::ArrayLiteral ids, types, payloads, queues, priorities, retries, run_ats, delays, versions;
    ids.reserve(jobs.size() * 37 + 2);
    payloads.reserve(payload_bytes + payload_bytes / 8 + jobs.size() * 3 + 2);
    std::vector<JobId> out;
    out.reserve(jobs.size());
    for (const auto& job : jobs) {
        ids.add(job.id);
        types.add(job.job_type);
        payloads.add(job.payload);
        queues.add(job.options.queue);
        priorities.add(std::int64_t{job.options.priority});
        retries.add(std::int64_t{job.options.max_retries});
        if (job.options.run_at)
            run_ats.add(pg::timestamp_literal(*job.options.run_at));
        else
            run_ats.add_null();
        delays.add(static_cast<std::int64_t>(job.options.delay.count()));
        versions.add(std::int64_t{job.options.version});
        out.push_back(job.id);
    }
    benchmark::DoNotOptimize(out.data());
    return {std::move(ids).finish(),     std::move(types).finish(),  std::move(payloads).finish(),
            std::move(queues).finish(),  std::move(priorities).finish(),
            std::move(retries).finish(), std::move(run_ats).finish(), std::move(delays).finish(),
            std::move(versions).finish()};
}

void report(benchmark::State& state, std::size_t statement_bytes) {
    state.SetItemsProcessed(state.iterations() * batch_jobs);
    state.counters["statement_bytes"] = static_cast<double>(statement_bytes);
}

// Everything insert_many does before PQexecParams, for 10,000 jobs.
void BM_BulkEnqueueParams(benchmark::State& state) {
    const auto jobs = make_jobs();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto payload_bytes = validate_all(jobs);
        auto arrays = build_arrays(jobs, payload_bytes);
        pg::Params params;
        for (const auto& a : arrays) params.add(a);
        benchmark::DoNotOptimize(params.values());
        bytes = 0;
        for (const auto& a : arrays) bytes += a.size();
    }
    report(state, bytes);
}
BENCHMARK(BM_BulkEnqueueParams)->Unit(benchmark::kMillisecond);

// From typed jobs: JobStore::make_new_job (encode_payload, JobId::generate)
// for each of the 10,000, then the same as above.
void BM_BulkEnqueueParamsFromTyped(benchmark::State& state) {
    std::vector<SendEmail> emails;
    for (std::int64_t i = 0; i < batch_jobs; ++i) emails.push_back(sample_email(i));
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::vector<NewJob> jobs;
        jobs.reserve(emails.size());
        for (const auto& email : emails) jobs.push_back(JobStore::make_new_job(email));
        auto payload_bytes = validate_all(jobs);
        auto arrays = build_arrays(jobs, payload_bytes);
        pg::Params params;
        for (const auto& a : arrays) params.add(a);
        benchmark::DoNotOptimize(params.values());
        bytes = 0;
        for (const auto& a : arrays) bytes += a.size();
    }
    report(state, bytes);
}
BENCHMARK(BM_BulkEnqueueParamsFromTyped)->Unit(benchmark::kMillisecond);

// Its parts: the nine arrays alone ...
void BM_BulkEnqueueArraysOnly(benchmark::State& state) {
    const auto jobs = make_jobs();
    std::size_t payload_bytes = 0;
    for (const auto& job : jobs) payload_bytes += job.payload.size();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto arrays = build_arrays(jobs, payload_bytes);
        benchmark::DoNotOptimize(arrays.data());
        bytes = arrays[2].size();
    }
    report(state, bytes);
}
BENCHMARK(BM_BulkEnqueueArraysOnly)->Unit(benchmark::kMillisecond);

// ... the validation alone, as insert_many runs it (message built per job) ...
void BM_BulkEnqueueValidation(benchmark::State& state) {
    const auto jobs = make_jobs();
    for (auto _ : state) benchmark::DoNotOptimize(validate_all(jobs));
    report(state, 0);
}
BENCHMARK(BM_BulkEnqueueValidation)->Unit(benchmark::kMillisecond);

// ... and validate_json_object alone (the message a constant).
void BM_BulkEnqueueJsonCheckOnly(benchmark::State& state) {
    const auto jobs = make_jobs();
    for (auto _ : state)
        for (const auto& job : jobs) validate_json_object(job.payload, "payload");
    report(state, 0);
}
BENCHMARK(BM_BulkEnqueueJsonCheckOnly)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seesaw::bench

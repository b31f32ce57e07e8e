// The client side of a bulk enqueue of 10,000 jobs: what
// store/src/pg_job_store.cpp's insert_many does before the statement is
// sent (store/src/enqueue_params.hpp): validate every job (checks, then
// validate_json_object on its payload), build the nine pg::ArrayLiteral
// parameters, pack them.
#include <array>
#include <vector>

#include "enqueue_params.hpp"
#include "micro_support.hpp"
#include "pg.hpp"
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

// insert_many's two steps, the store's own code.
std::size_t validate_all(const std::vector<NewJob>& jobs) { return detail::validate_new_jobs(jobs); }

std::array<std::string, 9> build_arrays(const std::vector<NewJob>& jobs, std::size_t payload_bytes) {
    return detail::enqueue_batch_arrays(jobs, payload_bytes);
}

// Everything insert_many does before PQexecParams: both steps, then the
// arrays packed as the statement's parameters. Returns the arrays' size.
std::size_t statement_params(const std::vector<NewJob>& jobs) {
    const auto arrays = build_arrays(jobs, validate_all(jobs));
    pg::Params params;
    for (const auto& a : arrays) params.add(a);
    benchmark::DoNotOptimize(params.values());
    std::size_t bytes = 0;
    for (const auto& a : arrays) bytes += a.size();
    return bytes;
}

void report(benchmark::State& state, std::size_t statement_bytes) {
    state.SetItemsProcessed(state.iterations() * batch_jobs);
    state.counters["statement_bytes"] = static_cast<double>(statement_bytes);
}

// Everything insert_many does before PQexecParams, for 10,000 jobs.
void BM_BulkEnqueueParams(benchmark::State& state) {
    const auto jobs = make_jobs();
    std::size_t bytes = 0;
    for (auto _ : state) bytes = statement_params(jobs);
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
        bytes = statement_params(jobs);
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

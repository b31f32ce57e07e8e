#pragma once
// What an enqueue does before its statement is sent: validate the jobs and
// build the statement's parameters. Shared by PgJobStore and the
// micro-benchmark that measures this client-side work.

#include <array>
#include <cstddef>
#include <span>
#include <string>

#include "seesaw/core/job.hpp"
#include "seesaw/store/connection.hpp"

namespace seesaw::detail {

// Refuses a job before anything is written, naming what is wrong (job
// `index` of `count`, for a batch).
void validate_new_job(const NewJob& job, std::size_t index, std::size_t count);
// Validates every job of a batch; returns their payloads' total size.
std::size_t validate_new_jobs(std::span<const NewJob> jobs);

// The nine array parameters of StoreSql::enqueue_batch for validated jobs
// (payload_bytes sizes the payload array up front).
std::array<std::string, 9> enqueue_batch_arrays(std::span<const NewJob> jobs, std::size_t payload_bytes);

// True when a job of the batch has a unique key (it then goes through
// StoreSql::enqueue_unique).
bool any_unique(std::span<const NewJob> jobs) noexcept;
// The three more arrays of StoreSql::enqueue_unique: unique keys, their
// states (each a job_status[] literal), their periods in ms; NULL for a job
// without a key.
std::array<std::string, 3> enqueue_unique_arrays(std::span<const NewJob> jobs);

// The parameters of StoreSql::enqueue for one validated job, as text. They
// point into this object and the job: neither may move while they are used.
class EnqueueParams {
public:
    explicit EnqueueParams(const NewJob& job);
    EnqueueParams(const EnqueueParams&) = delete;
    EnqueueParams& operator=(const EnqueueParams&) = delete;

    std::span<const Param> get() const noexcept { return params_; }

private:
    std::string id_, priority_, max_retries_, delay_, version_, run_at_;
    std::array<Param, 9> params_;
};

}  // namespace seesaw::detail

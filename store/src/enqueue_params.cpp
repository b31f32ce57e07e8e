#include "enqueue_params.hpp"

#include "pg.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job_traits.hpp"
#include "seesaw/core/limits.hpp"

namespace seesaw::detail {
namespace {

std::string job_label(const NewJob& job, std::size_t index, std::size_t count) {
    std::string label = "job type '" + job.job_type + "'";
    if (count > 1) label = "job " + std::to_string(index + 1) + " of " + std::to_string(count) + " (" + label + ")";
    return label;
}

}  // namespace

void validate_new_job(const NewJob& job, std::size_t index, std::size_t count) {
    const std::string prefix =
        count > 1 ? "job " + std::to_string(index + 1) + " of " + std::to_string(count) + ": " : std::string();
    validate_job_type(job.job_type, prefix + "job_type");
    const std::string label = job_label(job, index, count);
    validate_queue_name(queue_of(job.options), label + ": queue");
    if (max_retries_of(job.options) < 0 || max_retries_of(job.options) > max_retries_limit) {
        throw UsageError(label + ": max_retries must be between 0 and " + std::to_string(max_retries_limit) +
                         ", got " + std::to_string(max_retries_of(job.options)));
    }
    if (job.options.run_at) validate_run_at(*job.options.run_at, label + ": run_at");
    validate_delay(job.options.delay, label + ": delay");
    validate_unique_options(job.options, label);
    std::string what = "payload for " + label;
    // A NUL byte ends a text parameter (and looks like the end of the
    // document to the JSON reader): whatever followed it would be dropped.
    if (auto nul = job.payload.find('\0'); nul != std::string::npos)
        throw PayloadError(what + " contains a NUL byte at byte " + std::to_string(nul) + "; JSON text cannot");
    validate_json_object(job.payload, what);
}

std::size_t validate_new_jobs(std::span<const NewJob> jobs) {
    std::size_t payload_bytes = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        validate_new_job(jobs[i], i, jobs.size());
        payload_bytes += jobs[i].payload.size();
    }
    return payload_bytes;
}

std::array<std::string, 9> enqueue_batch_arrays(std::span<const NewJob> jobs, std::size_t payload_bytes) {
    pg::ArrayLiteral ids, types, payloads, queues, priorities, retries, run_ats, delays, versions;
    ids.reserve(jobs.size() * 37 + 2);
    payloads.reserve(payload_bytes + payload_bytes / 8 + jobs.size() * 3 + 2);
    for (const auto& job : jobs) {
        ids.add(job.id);
        types.add(job.job_type);
        payloads.add(job.payload);
        queues.add(queue_of(job.options));
        priorities.add(std::int64_t{priority_of(job.options)});
        retries.add(std::int64_t{max_retries_of(job.options)});
        if (job.options.run_at)
            run_ats.add(pg::timestamp_literal(*job.options.run_at));
        else
            run_ats.add_null();
        delays.add(static_cast<std::int64_t>(job.options.delay.count()));
        versions.add(std::int64_t{job.options.version});
    }
    return {std::move(ids).finish(),     std::move(types).finish(),  std::move(payloads).finish(),
            std::move(queues).finish(),  std::move(priorities).finish(),
            std::move(retries).finish(), std::move(run_ats).finish(), std::move(delays).finish(),
            std::move(versions).finish()};
}

bool any_unique(std::span<const NewJob> jobs) noexcept {
    for (const auto& job : jobs)
        if (job.options.unique_key) return true;
    return false;
}

std::string unique_states_literal(const UniqueStates& states) {
    std::string out = "{pending,running,failed";
    if (states.succeeded) out += ",succeeded";
    if (states.dead_letter) out += ",dead_letter";
    return out + "}";
}

std::array<std::string, 3> enqueue_unique_arrays(std::span<const NewJob> jobs) {
    pg::ArrayLiteral keys, states, periods;
    for (const auto& job : jobs) {
        const auto& options = job.options;
        if (!options.unique_key) {
            keys.add_null();
            states.add_null();
            periods.add_null();
            continue;
        }
        keys.add(*options.unique_key);
        states.add(unique_states_literal(options.unique_states));
        if (options.unique_for)
            periods.add(static_cast<std::int64_t>(options.unique_for->count()));
        else
            periods.add_null();
    }
    return {std::move(keys).finish(), std::move(states).finish(), std::move(periods).finish()};
}

EnqueueParams::EnqueueParams(const NewJob& job)
    : id_(job.id.to_string()),
      priority_(pg::to_text(priority_of(job.options))),
      max_retries_(pg::to_text(max_retries_of(job.options))),
      delay_(pg::to_text(job.options.delay.count())),
      version_(pg::to_text(job.options.version)) {
    if (job.options.run_at) run_at_ = pg::timestamp_literal(*job.options.run_at);
    const Param run_at = job.options.run_at ? Param(run_at_) : std::nullopt;
    params_ = {id_, job.job_type, job.payload, queue_of(job.options), priority_, max_retries_, run_at, delay_, version_};
}

}  // namespace seesaw::detail

#pragma once
// What seesaw accepts as a name or a time, wherever it enters (the store's
// enqueue, the dispatcher's options and handlers, the CLI). The schema's
// constraints hold the same limits for rows inserted with plain SQL.

#include <chrono>
#include <cstddef>
#include <string_view>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job.hpp"

namespace seesaw {

// A queue's name travels in NOTIFY payloads (at most 8000 bytes) and in
// every claim; job types in every claim and result.
inline constexpr std::size_t max_queue_name_bytes = 128;
inline constexpr std::size_t max_job_type_bytes = 255;
inline constexpr std::int32_t max_retries_limit = 1'000'000'000;
// Failed attempts a job's error history keeps (the latest).
inline constexpr std::size_t error_history_length = 20;
// Unique keys, and the longest period one can be unique within (1,000 years).
inline constexpr std::size_t max_unique_key_bytes = 1024;
inline constexpr std::chrono::milliseconds unique_for_limit = longest_delay;
// Snoozes of one job its type allows unless it says otherwise
// (HandlerOptions::max_snoozes, JobTraits<T>::max_snoozes).
inline constexpr std::int32_t default_max_snoozes = 100;

// run_at must lie in [earliest_run_at, latest_run_at): years 1 to 294246,
// what PostgreSQL and 64-bit microseconds since 1970 both hold.
inline constexpr Timestamp earliest_run_at{std::chrono::microseconds(-62'135'596'800'000'000)};  // 0001-01-01
inline constexpr Timestamp latest_run_at{std::chrono::microseconds(9'223'371'244'800'000'000)};   // 294247-01-01

// Each throws UsageError naming `what` and the problem: empty, too long, a
// NUL byte, not UTF-8.
void validate_queue_name(std::string_view name, std::string_view what);
void validate_job_type(std::string_view name, std::string_view what);
// Throws UsageError naming `what` when t is outside [earliest_run_at, latest_run_at).
void validate_run_at(Timestamp t, std::string_view what);
// Throws UsageError naming `what` when the delay is negative, or would put
// the job past latest_run_at (counted from this machine's clock).
void validate_delay(std::chrono::milliseconds delay, std::string_view what);

// Throws UsageError naming `what` when the options' unique key, period or
// states are wrong (a period or states without a key; an empty, too long or
// not UTF-8 key; a period that is not positive or over the limit).
void validate_unique_options(const EnqueueOptions& options, std::string_view what);

// True when text is well-formed UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace seesaw

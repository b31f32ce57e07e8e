#include "seesaw/core/limits.hpp"

#include <string>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

void validate_name(std::string_view name, std::string_view what, std::size_t max_bytes) {
    if (name.empty()) throw UsageError(std::string(what) + " must not be empty");
    if (name.size() > max_bytes) {
        throw UsageError(std::string(what) + " is " + std::to_string(name.size()) + " bytes long; at most " +
                         std::to_string(max_bytes) + " are allowed");
    }
    if (name.find('\0') != std::string_view::npos) {
        throw UsageError(std::string(what) + " '" + std::string(name.substr(0, name.find('\0'))) +
                         "\\0...' contains a NUL byte, which PostgreSQL cannot store");
    }
    if (!is_valid_utf8(name)) throw UsageError(std::string(what) + " is not valid UTF-8");
}

}  // namespace

void validate_queue_name(std::string_view name, std::string_view what) {
    validate_name(name, what, max_queue_name_bytes);
}

void validate_job_type(std::string_view name, std::string_view what) { validate_name(name, what, max_job_type_bytes); }

void validate_unique_options(const EnqueueOptions& options, std::string_view what) {
    const std::string label(what);
    if (!options.unique_key) {
        if (options.unique_for) throw UsageError(label + ": unique_for was given without a unique_key");
        if (options.unique_states != UniqueStates{})
            throw UsageError(label + ": unique_states were given without a unique_key");
        return;
    }
    validate_name(*options.unique_key, label + ": unique_key", max_unique_key_bytes);
    if (options.unique_for) {
        const auto ms = options.unique_for->count();
        if (ms <= 0) throw UsageError(label + ": unique_for must be positive, got " + std::to_string(ms) + " ms");
        if (*options.unique_for > unique_for_limit) {
            throw UsageError(label + ": unique_for must be at most " + std::to_string(unique_for_limit.count()) +
                             " ms (1,000 years), got " + std::to_string(ms) + " ms");
        }
    }
}

void validate_run_at(Timestamp t, std::string_view what) {
    if (t < earliest_run_at || t >= latest_run_at) {
        throw UsageError(std::string(what) + " must be between 0001-01-01 and 294247-01-01 (UTC), got " +
                         std::to_string(t.time_since_epoch().count()) + " µs since 1970");
    }
}

void validate_delay(std::chrono::milliseconds delay, std::string_view what) {
    if (delay.count() < 0) {
        throw UsageError(std::string(what) + " must not be negative, got " + std::to_string(delay.count()) + " ms");
    }
    const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
    if (delay > std::chrono::duration_cast<std::chrono::milliseconds>(latest_run_at - now)) {
        throw UsageError(std::string(what) + " of " + std::to_string(delay.count()) +
                         " ms would put the job after 294247-01-01, the latest run_at seesaw stores");
    }
}

bool is_valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code = 0;
        if ((c & 0xE0) == 0xC0) {
            length = 2;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + length > n) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += length;
    }
    return true;
}

}  // namespace seesaw

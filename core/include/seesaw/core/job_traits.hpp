#pragma once
// Typed jobs. A job type is any C++ type with a JobTraits specialization that
// names it (the name is persisted in jobs.job_type) and encodes/decodes its
// payload with RapidJSON:
//
//   template <> struct seesaw::JobTraits<SendEmail> {
//       static constexpr std::string_view name = "send_email";
//       static void encode(const SendEmail& job, seesaw::PayloadWriter& out) {
//           out.field("to", job.to).field("subject", job.subject);
//       }
//       static SendEmail decode(const seesaw::PayloadReader& in) {
//           return {in.string("to"), in.string("subject")};
//       }
//   };
//
// The type's defaults, each optional: an enqueue whose EnqueueOptions leave
// the field unset takes it, one that sets it overrides it.
//
//       static constexpr std::string_view queue = "mail";       // EnqueueOptions::queue
//       static constexpr std::int32_t priority = 5;              // ::priority
//       static constexpr std::int32_t max_retries = 10;          // ::max_retries
//       static std::string unique_key(const SendEmail& job) {    // ::unique_key, from the job
//           return job.to;
//       }
//       static constexpr std::chrono::milliseconds unique_for{3'600'000};  // ::unique_for, with unique_key
//       static constexpr std::chrono::milliseconds timeout{30'000};  // HandlerOptions::timeout
//       static constexpr std::int32_t max_snoozes = 20;              // HandlerOptions::max_snoozes

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job.hpp"

namespace seesaw {

template <class T>
struct JobTraits;  // specialize for each job type

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes the members of a payload object.
class PayloadWriter {
public:
    explicit PayloadWriter(JsonWriter& writer) noexcept : writer_(writer) {}

    PayloadWriter& field(std::string_view name, std::string_view value);
    PayloadWriter& field(std::string_view name, const char* value) { return field(name, std::string_view(value)); }
    PayloadWriter& field(std::string_view name, const std::string& value) {
        return field(name, std::string_view(value));
    }
    PayloadWriter& field(std::string_view name, bool value);
    PayloadWriter& field(std::string_view name, double value);
    template <std::integral I>
        requires(!std::same_as<I, bool>)
    PayloadWriter& field(std::string_view name, I value) {
        key(name);
        if constexpr (std::is_signed_v<I>)
            writer_.Int64(static_cast<std::int64_t>(value));
        else
            writer_.Uint64(static_cast<std::uint64_t>(value));
        return *this;
    }
    template <class V>
    PayloadWriter& field(std::string_view name, const std::optional<V>& value) {
        if (value) return field(name, *value);
        key(name);
        writer_.Null();
        return *this;
    }
    // Writes the member name; follow it with one value written to raw().
    PayloadWriter& key(std::string_view name);
    JsonWriter& raw() noexcept { return writer_; }

private:
    JsonWriter& writer_;
};

// Reads the members of a payload object. Every accessor throws PayloadError
// naming the job type and the field when the field is missing or has the
// wrong JSON type.
class PayloadReader {
public:
    PayloadReader(const rapidjson::Value& object, std::string_view job_type) noexcept
        : object_(object), job_type_(job_type) {}

    bool has(std::string_view field) const;
    const rapidjson::Value& value(std::string_view field) const;  // required, any JSON type

    std::string string(std::string_view field) const;
    std::int64_t int64(std::string_view field) const;
    std::int32_t int32(std::string_view field) const;
    double number(std::string_view field) const;
    bool boolean(std::string_view field) const;

    // Missing or null → nullopt; present with the wrong type → PayloadError.
    std::optional<std::string> optional_string(std::string_view field) const;
    std::optional<std::int64_t> optional_int64(std::string_view field) const;
    std::optional<double> optional_number(std::string_view field) const;
    std::optional<bool> optional_boolean(std::string_view field) const;

    const rapidjson::Value& object() const noexcept { return object_; }
    std::string_view job_type() const noexcept { return job_type_; }
    // Throws PayloadError: "payload for job type 'T' <problem>".
    [[noreturn]] void fail(std::string_view problem) const;

private:
    const rapidjson::Value* find(std::string_view field) const;
    [[noreturn]] void wrong_type(std::string_view field, std::string_view expected) const;

    const rapidjson::Value& object_;
    std::string_view job_type_;
};

template <class T>
concept TypedJob = requires(const T& job, PayloadWriter& out, const PayloadReader& in) {
    { JobTraits<T>::name } -> std::convertible_to<std::string_view>;
    JobTraits<T>::encode(job, out);
    { JobTraits<T>::decode(in) } -> std::convertible_to<T>;
};

template <TypedJob T>
constexpr std::string_view job_type_name() noexcept {
    return std::string_view(JobTraits<T>::name);
}

// The type's defaults (see the top of this file), where it declares them.
template <class T>
concept HasDefaultQueue = requires { std::string_view(JobTraits<T>::queue); };
template <class T>
concept HasDefaultPriority = requires { std::int32_t{JobTraits<T>::priority}; };
template <class T>
concept HasDefaultMaxRetries = requires { std::int32_t{JobTraits<T>::max_retries}; };
template <class T>
concept HasUniqueKey = requires(const T& job) {
    { JobTraits<T>::unique_key(job) } -> std::convertible_to<std::string>;
};
template <class T>
concept HasUniqueFor = requires { std::chrono::milliseconds(JobTraits<T>::unique_for); };
template <class T>
concept HasDefaultTimeout = requires { std::chrono::milliseconds(JobTraits<T>::timeout); };
template <class T>
concept HasMaxSnoozes = requires { std::int32_t{JobTraits<T>::max_snoozes}; };

// options with the fields it leaves unset taken from the type's defaults.
template <TypedJob T>
EnqueueOptions with_type_defaults(const T& job, EnqueueOptions options) {
    if constexpr (HasDefaultQueue<T>) {
        if (!options.queue) options.queue = std::string(std::string_view(JobTraits<T>::queue));
    }
    if constexpr (HasDefaultPriority<T>) {
        if (!options.priority) options.priority = std::int32_t{JobTraits<T>::priority};
    }
    if constexpr (HasDefaultMaxRetries<T>) {
        if (!options.max_retries) options.max_retries = std::int32_t{JobTraits<T>::max_retries};
    }
    if constexpr (HasUniqueKey<T>) {
        if (!options.unique_key) {
            options.unique_key = std::string(JobTraits<T>::unique_key(job));
            if constexpr (HasUniqueFor<T>) {
                if (!options.unique_for) options.unique_for = std::chrono::milliseconds(JobTraits<T>::unique_for);
            }
        }
    }
    return options;
}

namespace detail {
// Parses a payload into a per-thread document, reused from call to call (no
// allocation for small payloads). Valid until the next call on this thread.
// Throws PayloadError naming the type when json is not a JSON object.
const rapidjson::Value& parse_payload(std::string_view json, std::string_view job_type);
// Rethrows the PayloadError being handled as "payload for job type 'T' ...".
[[noreturn]] void rethrow_encode_error(std::string_view job_type);
}  // namespace detail

// Throws PayloadError naming the type and the field when a value has no
// JSON form (NaN, infinity).
template <TypedJob T>
std::string encode_payload(const T& job) {
    rapidjson::StringBuffer buffer;
    JsonWriter writer(buffer);
    writer.StartObject();
    PayloadWriter out(writer);
    try {
        JobTraits<T>::encode(job, out);
    } catch (const PayloadError&) {
        detail::rethrow_encode_error(job_type_name<T>());
    }
    writer.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
}

template <TypedJob T>
T decode_payload(std::string_view json) {
    const auto name = job_type_name<T>();
    return JobTraits<T>::decode(PayloadReader(detail::parse_payload(json, name), name));
}

// Checks that text is one JSON object, in valid UTF-8, that PostgreSQL's
// jsonb can store (no \u0000, no unpaired \udc00 to \udfff in strings);
// throws PayloadError with the parser's message and the byte offset
// otherwise. `what` names the payload in the message (e.g. "payload for job
// type 'send_email'").
void validate_json_object(std::string_view text, std::string_view what);

}  // namespace seesaw

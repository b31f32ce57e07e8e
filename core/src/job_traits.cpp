#include "seesaw/core/job_traits.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

std::string_view json_type_name(const rapidjson::Value& v) {
    switch (v.GetType()) {
        case rapidjson::kNullType: return "null";
        case rapidjson::kFalseType:
        case rapidjson::kTrueType: return "a boolean";
        case rapidjson::kObjectType: return "an object";
        case rapidjson::kArrayType: return "an array";
        case rapidjson::kStringType: return "a string";
        case rapidjson::kNumberType: return "a number";
    }
    return "unknown";
}

[[noreturn]] void throw_parse_error(std::string_view what, rapidjson::ParseErrorCode code, std::size_t offset) {
    throw PayloadError(std::string(what) + " is not valid JSON: " + rapidjson::GetParseError_En(code) +
                       " (at byte " + std::to_string(offset) + ")");
}

[[noreturn]] void throw_not_object(std::string_view what, const rapidjson::Value& v) {
    throw PayloadError(std::string(what) + " must be a JSON object, not " + std::string(json_type_name(v)));
}

std::string describe(std::string_view job_type) { return "payload for job type '" + std::string(job_type) + "'"; }

// Per-thread parse state: the document's values and its parse stack both
// live in pools that start in fixed buffers and are reset before each parse,
// and the payload is parsed in place in a reused copy, so a small payload
// parses without touching the heap. (RapidJSON frees the parse stack after
// every parse; with a pool, that free is a no-op and the reset reclaims it.)
using Pool = rapidjson::MemoryPoolAllocator<>;
using PayloadDocument = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;

struct ThreadDocument {
    static constexpr std::size_t value_bytes = 16 * 1024;
    static constexpr std::size_t stack_bytes = 4 * 1024;
    alignas(8) char value_buffer[value_bytes];
    alignas(8) char stack_buffer[stack_bytes];
    Pool value_allocator{value_buffer, value_bytes};
    Pool stack_allocator{stack_buffer, stack_bytes};
    PayloadDocument document{&value_allocator, 1024, &stack_allocator};
    std::string text;  // the payload, parsed in place
};

}  // namespace

PayloadWriter& PayloadWriter::key(std::string_view name) {
    writer_.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    return *this;
}

PayloadWriter& PayloadWriter::field(std::string_view name, std::string_view value) {
    key(name);
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
}

PayloadWriter& PayloadWriter::field(std::string_view name, bool value) {
    key(name);
    writer_.Bool(value);
    return *this;
}

PayloadWriter& PayloadWriter::field(std::string_view name, double value) {
    // RapidJSON would write the key and no value: a document that is not JSON.
    if (!std::isfinite(value)) {
        throw PayloadError("cannot encode field '" + std::string(name) + "': " +
                           (std::isnan(value) ? "NaN" : "an infinite number") + " is not a JSON number");
    }
    key(name);
    writer_.Double(value);
    return *this;
}

const rapidjson::Value* PayloadReader::find(std::string_view field) const {
    auto it = object_.FindMember(rapidjson::Value(rapidjson::StringRef(field.data(), field.size())));
    return it == object_.MemberEnd() ? nullptr : &it->value;
}

void PayloadReader::fail(std::string_view problem) const {
    throw PayloadError(describe(job_type_) + " " + std::string(problem));
}

void PayloadReader::wrong_type(std::string_view field, std::string_view expected) const {
    fail("has field '" + std::string(field) + "' as " + std::string(json_type_name(*find(field))) +
         ", expected " + std::string(expected));
}

bool PayloadReader::has(std::string_view field) const { return find(field) != nullptr; }

const rapidjson::Value& PayloadReader::value(std::string_view field) const {
    const auto* v = find(field);
    if (v == nullptr) fail("is missing field '" + std::string(field) + "'");
    return *v;
}

std::string PayloadReader::string(std::string_view field) const {
    const auto& v = value(field);
    if (!v.IsString()) wrong_type(field, "a string");
    return std::string(v.GetString(), v.GetStringLength());
}

std::int64_t PayloadReader::int64(std::string_view field) const {
    const auto& v = value(field);
    if (!v.IsInt64()) wrong_type(field, "an integer");
    return v.GetInt64();
}

std::int32_t PayloadReader::int32(std::string_view field) const {
    const auto& v = value(field);
    if (!v.IsInt()) {
        if (v.IsInt64()) fail("has field '" + std::string(field) + "' out of the 32-bit integer range");
        wrong_type(field, "an integer");
    }
    return v.GetInt();
}

double PayloadReader::number(std::string_view field) const {
    const auto& v = value(field);
    if (!v.IsNumber()) wrong_type(field, "a number");
    return v.GetDouble();
}

bool PayloadReader::boolean(std::string_view field) const {
    const auto& v = value(field);
    if (!v.IsBool()) wrong_type(field, "a boolean");
    return v.GetBool();
}

std::optional<std::string> PayloadReader::optional_string(std::string_view field) const {
    const auto* v = find(field);
    if (v == nullptr || v->IsNull()) return std::nullopt;
    return string(field);
}

std::optional<std::int64_t> PayloadReader::optional_int64(std::string_view field) const {
    const auto* v = find(field);
    if (v == nullptr || v->IsNull()) return std::nullopt;
    return int64(field);
}

std::optional<double> PayloadReader::optional_number(std::string_view field) const {
    const auto* v = find(field);
    if (v == nullptr || v->IsNull()) return std::nullopt;
    return number(field);
}

std::optional<bool> PayloadReader::optional_boolean(std::string_view field) const {
    const auto* v = find(field);
    if (v == nullptr || v->IsNull()) return std::nullopt;
    return boolean(field);
}

namespace detail {

void rethrow_encode_error(std::string_view job_type) {
    try {
        throw;
    } catch (const PayloadError& e) {
        throw PayloadError(describe(job_type) + " " + e.what());
    }
}

const rapidjson::Value& parse_payload(std::string_view json, std::string_view job_type) {
    thread_local auto state = std::make_unique<ThreadDocument>();
    auto& doc = state->document;
    // Drop the previous payload's values; chunks beyond the fixed buffers are freed.
    doc.SetNull();
    state->value_allocator.Clear();
    state->stack_allocator.Clear();
    state->text.assign(json);
    // Iterative: a deeply nested payload is an error, never a stack overflow.
    doc.ParseInsitu<rapidjson::kParseIterativeFlag>(state->text.data());
    if (doc.HasParseError()) throw_parse_error(describe(job_type), doc.GetParseError(), doc.GetErrorOffset());
    if (!doc.IsObject()) throw_not_object(describe(job_type), doc);
    return doc;
}

}  // namespace detail

namespace {
// SAX validation: no DOM is built. Records what the root value is, and stops
// at a string holding U+0000, which jsonb cannot store.
struct RootKind : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RootKind> {
    bool first = true;
    bool nul_in_string = false;
    rapidjson::Type root = rapidjson::kNullType;
    bool note(rapidjson::Type type) {
        if (first) root = type;
        first = false;
        return true;
    }
    bool Default() { return note(rapidjson::kNullType); }
    bool Bool(bool b) { return note(b ? rapidjson::kTrueType : rapidjson::kFalseType); }
    bool Int(int) { return note(rapidjson::kNumberType); }
    bool Uint(unsigned) { return note(rapidjson::kNumberType); }
    bool Int64(std::int64_t) { return note(rapidjson::kNumberType); }
    bool Uint64(std::uint64_t) { return note(rapidjson::kNumberType); }
    bool Double(double) { return note(rapidjson::kNumberType); }
    bool String(const char* text, rapidjson::SizeType length, bool) {
        if (std::memchr(text, '\0', length) != nullptr) {
            nul_in_string = true;
            return false;
        }
        return note(rapidjson::kStringType);
    }
    bool StartObject() { return note(rapidjson::kObjectType); }
    bool StartArray() { return note(rapidjson::kArrayType); }
};
}  // namespace

void validate_json_object(std::string_view text, std::string_view what) {
    RootKind handler;
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(text.data(), text.size());
    // Iterative: deep nesting cannot overflow the stack. Invalid UTF-8 is
    // refused here, with its offset, as PostgreSQL would refuse it.
    constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
    auto result = reader.Parse<flags>(stream, handler);
    if (handler.nul_in_string) {
        throw PayloadError(std::string(what) + " has \\u0000 in a string (before byte " +
                           std::to_string(result.Offset()) + "), which PostgreSQL's jsonb cannot store");
    }
    if (result.IsError()) throw_parse_error(what, result.Code(), result.Offset());
    if (handler.root != rapidjson::kObjectType) {
        rapidjson::Value probe(handler.root);
        throw_not_object(what, probe);
    }
}

}  // namespace seesaw

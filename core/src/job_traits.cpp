#include "seesaw/core/job_traits.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "seesaw/core/error.hpp"
#include "seesaw/core/limits.hpp"

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

// Builds a payload document from the reader's events, converting numbers
// itself: RapidJSON 1.1.0 reads many doubles one unit in the last place off
// (one in seven of those in [0, 1): a double a job encodes would decode to
// its neighbour), and its full-precision mode is wrong outright for some
// (0.0e-95 does not read as 0). std::from_chars rounds correctly; integers
// become the Int, Uint, Int64 or Uint64 values RapidJSON would make.
class PayloadBuilder {
public:
    explicit PayloadBuilder(PayloadDocument& doc) noexcept : doc_(doc) {}

    bool RawNumber(const char* text, rapidjson::SizeType length, bool);
    // Just above the largest double: RapidJSON refuses larger numbers itself.
    bool number_too_big() const noexcept { return number_too_big_; }

    bool Null() { return doc_.Null(); }
    bool Bool(bool b) { return doc_.Bool(b); }
    bool String(const char* text, rapidjson::SizeType length, bool copy) { return doc_.String(text, length, copy); }
    bool StartObject() { return doc_.StartObject(); }
    bool Key(const char* text, rapidjson::SizeType length, bool copy) { return doc_.Key(text, length, copy); }
    bool EndObject(rapidjson::SizeType members) { return doc_.EndObject(members); }
    bool StartArray() { return doc_.StartArray(); }
    bool EndArray(rapidjson::SizeType elements) { return doc_.EndArray(elements); }
    // Never called: numbers all come to RawNumber (kParseNumbersAsStringsFlag).
    bool Int(int i) { return doc_.Int(i); }
    bool Uint(unsigned u) { return doc_.Uint(u); }
    bool Int64(std::int64_t i) { return doc_.Int64(i); }
    bool Uint64(std::uint64_t u) { return doc_.Uint64(u); }
    bool Double(double d) { return doc_.Double(d); }

private:
    PayloadDocument& doc_;
    bool number_too_big_ = false;
};

// A JSON number beyond a double's range, as the payload reader refuses it.
// Below the range a number reads as zero, as it always has; above it, it is
// refused. A long double tells which (what it cannot hold either is below:
// RapidJSON lets nothing through above 1e309).
bool above_double_range(const char* text, const char* end) {
    double d = 0;
    if (std::from_chars(text, end, d).ec == std::errc()) return false;
    long double wide = 0;
    return std::from_chars(text, end, wide).ec == std::errc() && std::fabs(wide) >= 1;
}

bool PayloadBuilder::RawNumber(const char* text, rapidjson::SizeType length, bool) {
    const char* end = text + length;
    if (std::none_of(text, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; })) {
        if (*text == '-') {
            std::int64_t i = 0;
            if (std::from_chars(text, end, i).ec == std::errc())
                return i >= std::numeric_limits<std::int32_t>::min() ? doc_.Int(static_cast<int>(i)) : doc_.Int64(i);
        } else {
            std::uint64_t u = 0;
            if (std::from_chars(text, end, u).ec == std::errc()) {
                return u <= std::numeric_limits<std::uint32_t>::max() ? doc_.Uint(static_cast<unsigned>(u))
                                                                      : doc_.Uint64(u);
            }
        }
    }
    double d = 0;
    if (std::from_chars(text, end, d).ec == std::errc()) return doc_.Double(d);
    if (!above_double_range(text, end)) return doc_.Double(*text == '-' ? -0.0 : 0.0);
    number_too_big_ = true;
    return false;
}

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
    // Iterative: however deep a payload nests, it cannot overflow the stack.
    constexpr unsigned flags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
    rapidjson::ParseResult result;
    auto build = [&](PayloadDocument& handler) {
        rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, Pool> reader(&state->stack_allocator);
        rapidjson::InsituStringStream stream(state->text.data());
        PayloadBuilder builder(handler);
        result = reader.Parse<flags>(stream, builder);
        if (builder.number_too_big()) result.Set(rapidjson::kParseErrorNumberTooBig, result.Offset());
        return !result.IsError();
    };
    doc.Populate(build);
    if (result.IsError()) throw_parse_error(describe(job_type), result.Code(), result.Offset());
    if (!doc.IsObject()) throw_not_object(describe(job_type), doc);
    return doc;
}

}  // namespace detail

namespace {
// SAX validation: no DOM is built. Records what the root value is, and stops
// at a string jsonb cannot store: one holding U+0000, or a lone low surrogate
// (an escape such as \udc00 that RapidJSON decodes to bytes that are not
// UTF-8; a high surrogate without its pair is already a parse error).
struct RootKind : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RootKind> {
    bool first = true;
    bool nul_in_string = false;
    bool lone_surrogate = false;
    bool number_too_big = false;
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
    // Numbers come as text (kParseNumbersAsStringsFlag): refused where the
    // payload reader would refuse them, so an accepted payload decodes.
    bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
        if (above_double_range(text, text + length)) {
            number_too_big = true;
            return false;
        }
        return note(rapidjson::kNumberType);
    }
    bool String(const char* text, rapidjson::SizeType length, bool) {
        if (std::memchr(text, '\0', length) != nullptr) {
            nul_in_string = true;
            return false;
        }
        if (!is_valid_utf8(std::string_view(text, length))) {
            lone_surrogate = true;
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
    constexpr unsigned flags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
    auto result = reader.Parse<flags>(stream, handler);
    if (handler.number_too_big) throw_parse_error(what, rapidjson::kParseErrorNumberTooBig, result.Offset());
    if (handler.nul_in_string) {
        throw PayloadError(std::string(what) + " has \\u0000 in a string (before byte " +
                           std::to_string(result.Offset()) + "), which PostgreSQL's jsonb cannot store");
    }
    if (handler.lone_surrogate) {
        throw PayloadError(std::string(what) + " has an unpaired low surrogate (\\udc00 to \\udfff) in a string " +
                           "(before byte " + std::to_string(result.Offset()) +
                           "), which PostgreSQL's jsonb cannot store");
    }
    if (result.IsError()) throw_parse_error(what, result.Code(), result.Offset());
    if (handler.root != rapidjson::kObjectType) {
        rapidjson::Value probe(handler.root);
        throw_not_object(what, probe);
    }
}

}  // namespace seesaw

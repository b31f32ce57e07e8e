#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job_traits.hpp"

namespace seesaw::test {

struct SendEmail {
    std::string to;
    std::string subject;
    std::int32_t retries_left = 0;
    std::int64_t account = 0;
    double weight = 0;
    bool urgent = false;
    std::optional<std::string> reply_to;
    std::optional<std::int64_t> thread;
    std::uint32_t flags = 0;
    friend bool operator==(const SendEmail&, const SendEmail&) = default;
};

struct Ping {
    double value = 0;
};

}  // namespace seesaw::test

template <>
struct seesaw::JobTraits<seesaw::test::SendEmail> {
    static constexpr std::string_view name = "send_email";
    static void encode(const seesaw::test::SendEmail& job, seesaw::PayloadWriter& out) {
        out.field("to", job.to)
            .field("subject", job.subject)
            .field("retries_left", job.retries_left)
            .field("account", job.account)
            .field("weight", job.weight)
            .field("urgent", job.urgent)
            .field("reply_to", job.reply_to)
            .field("thread", job.thread)
            .field("flags", job.flags);
    }
    static seesaw::test::SendEmail decode(const seesaw::PayloadReader& in) {
        return {in.string("to"),
                in.string("subject"),
                in.int32("retries_left"),
                in.int64("account"),
                in.number("weight"),
                in.boolean("urgent"),
                in.optional_string("reply_to"),
                in.optional_int64("thread"),
                static_cast<std::uint32_t>(in.int64("flags"))};
    }
};

template <>
struct seesaw::JobTraits<seesaw::test::Ping> {
    static constexpr std::string_view name = "ping";
    static void encode(const seesaw::test::Ping& job, seesaw::PayloadWriter& out) { out.field("value", job.value); }
    static seesaw::test::Ping decode(const seesaw::PayloadReader& in) { return {in.number("value")}; }
};

namespace seesaw::test {
namespace {

static_assert(TypedJob<SendEmail>);
static_assert(!TypedJob<int>);

// The message of the PayloadError that f throws (fails the test otherwise).
template <class F>
std::string payload_error(F f) {
    try {
        f();
    } catch (const PayloadError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw something other than PayloadError: " << e.what();
        return {};
    }
    ADD_FAILURE() << "did not throw";
    return {};
}

TEST(JobTraits, NameIsTheTypesPersistedName) { EXPECT_EQ(job_type_name<SendEmail>(), "send_email"); }

TEST(JobTraits, EncodeDecodeRoundTrip) {
    SendEmail job{"a@b.c", "hi \"there\"\n\\ é ☃", -7, std::int64_t{1} << 40, 2.5, true, "r@b.c", std::nullopt,
                  4'000'000'000u};
    auto json = encode_payload(job);
    EXPECT_NO_THROW(validate_json_object(json, "payload"));
    EXPECT_EQ(decode_payload<SendEmail>(json), job);

    SendEmail other{"x@y.z", "", 0, -1, -0.125, false, std::nullopt, 42, 0};
    EXPECT_EQ(decode_payload<SendEmail>(encode_payload(other)), other);
}

TEST(JobTraits, EncodesAnObjectWithTheFieldsByName) {
    SendEmail job{"a@b.c", "hi", 1, 2, 0.5, false, std::nullopt, std::nullopt, 3};
    EXPECT_EQ(encode_payload(job),
              R"({"to":"a@b.c","subject":"hi","retries_left":1,"account":2,"weight":0.5,"urgent":false,)"
              R"("reply_to":null,"thread":null,"flags":3})");
}

TEST(JobTraits, DecodesFieldsInAnyOrderAndIgnoresUnknownOnes) {
    auto job = decode_payload<SendEmail>(
        R"({"extra":[1,2,{"x":null}],"flags":1,"subject":"s","to":"t","retries_left":2,"account":3,)"
        R"("weight":4,"urgent":true})");
    EXPECT_EQ(job.to, "t");
    EXPECT_EQ(job.subject, "s");
    EXPECT_EQ(job.weight, 4.0);  // an integer is a number too
    EXPECT_TRUE(job.urgent);
    EXPECT_EQ(job.reply_to, std::nullopt);  // missing optional
    EXPECT_EQ(job.thread, std::nullopt);
}

TEST(PayloadReader, MissingFieldNamesTheJobTypeAndTheField) {
    auto message = payload_error([] { decode_payload<SendEmail>(R"({"subject":"hi"})"); });
    EXPECT_EQ(message, "payload for job type 'send_email' is missing field 'to'");
}

TEST(PayloadReader, WrongTypeNamesTheFieldWhatItIsAndWhatWasExpected) {
    auto message = payload_error([] { decode_payload<SendEmail>(R"({"to":42,"subject":"hi"})"); });
    EXPECT_EQ(message, "payload for job type 'send_email' has field 'to' as a number, expected a string");

    message = payload_error([] {
        decode_payload<SendEmail>(R"({"to":"t","subject":"s","retries_left":1.5})");
    });
    EXPECT_EQ(message,
              "payload for job type 'send_email' has field 'retries_left' as a number, expected an integer");

    message = payload_error([] {
        decode_payload<SendEmail>(R"({"to":"t","subject":"s","retries_left":1,"account":1,"weight":"x"})");
    });
    EXPECT_EQ(message, "payload for job type 'send_email' has field 'weight' as a string, expected a number");

    message = payload_error([] {
        decode_payload<SendEmail>(
            R"({"to":"t","subject":"s","retries_left":1,"account":1,"weight":1,"urgent":"yes"})");
    });
    EXPECT_EQ(message, "payload for job type 'send_email' has field 'urgent' as a string, expected a boolean");

    message = payload_error([] {
        decode_payload<SendEmail>(
            R"({"to":"t","subject":"s","retries_left":1,"account":1,"weight":1,"urgent":true,"reply_to":[]})");
    });
    EXPECT_EQ(message, "payload for job type 'send_email' has field 'reply_to' as an array, expected a string");
}

TEST(PayloadReader, Int32OutOfRangeSaysSo) {
    auto message = payload_error([] {
        decode_payload<SendEmail>(R"({"to":"t","subject":"s","retries_left":4294967296})");
    });
    EXPECT_EQ(message, "payload for job type 'send_email' has field 'retries_left' out of the 32-bit integer range");
}

TEST(PayloadReader, InvalidJsonGivesTheParserMessageAndTheByteOffset) {
    auto message = payload_error([] { decode_payload<SendEmail>(R"({"to":"a" "subject":"b"})"); });
    EXPECT_EQ(message.rfind("payload for job type 'send_email' is not valid JSON: ", 0), 0u) << message;
    EXPECT_NE(message.find("(at byte 10)"), std::string::npos) << message;

    message = payload_error([] { decode_payload<SendEmail>(""); });
    EXPECT_NE(message.find("payload for job type 'send_email' is not valid JSON"), std::string::npos);
    EXPECT_NE(message.find("(at byte 0)"), std::string::npos) << message;

    message = payload_error([] { decode_payload<SendEmail>(R"({"to":"t"} {})"); });
    EXPECT_NE(message.find("is not valid JSON"), std::string::npos) << message;
    EXPECT_NE(message.find("(at byte 11)"), std::string::npos) << message;
}

TEST(PayloadReader, NonObjectRootSaysWhatItIs) {
    EXPECT_EQ(payload_error([] { decode_payload<SendEmail>("[1,2]"); }),
              "payload for job type 'send_email' must be a JSON object, not an array");
    EXPECT_EQ(payload_error([] { decode_payload<SendEmail>("\"to\""); }),
              "payload for job type 'send_email' must be a JSON object, not a string");
    EXPECT_EQ(payload_error([] { decode_payload<SendEmail>("null"); }),
              "payload for job type 'send_email' must be a JSON object, not null");
    EXPECT_EQ(payload_error([] { decode_payload<SendEmail>("17"); }),
              "payload for job type 'send_email' must be a JSON object, not a number");
}

TEST(PayloadReader, DecodesAfterAFailedDecodeOnTheSameThread) {
    // The parse document is reused per thread: a failure must not poison it.
    EXPECT_THROW(decode_payload<SendEmail>("{"), PayloadError);
    EXPECT_THROW(decode_payload<SendEmail>("[]"), PayloadError);
    auto big = std::string(100'000, 'x');  // larger than the reusable buffer
    SendEmail job{"a", big, 0, 0, 0, false, std::nullopt, std::nullopt, 0};
    EXPECT_EQ(decode_payload<SendEmail>(encode_payload(job)).subject, big);
    SendEmail small{"b", "c", 0, 0, 0, false, std::nullopt, std::nullopt, 0};
    EXPECT_EQ(decode_payload<SendEmail>(encode_payload(small)), small);
}

TEST(PayloadReader, DeeplyNestedJsonIsAnErrorNotACrash) {
    std::string deep = R"({"a":)" + std::string(1'000'000, '[');
    auto message = payload_error([&] { decode_payload<SendEmail>(deep); });
    EXPECT_NE(message.find("is not valid JSON"), std::string::npos) << message;
    message = payload_error([&] { validate_json_object(deep, "payload for job type 'deep'"); });
    EXPECT_NE(message.find("payload for job type 'deep' is not valid JSON"), std::string::npos) << message;
}

TEST(PayloadWriter, NonFiniteNumbersAreRefusedNamingTheField) {
    // JSON has no NaN or infinity: encoding one must fail clearly, not write
    // a document that is not JSON.
    EXPECT_EQ(payload_error([] { encode_payload(Ping{std::numeric_limits<double>::quiet_NaN()}); }),
              "payload for job type 'ping' cannot encode field 'value': NaN is not a JSON number");
    EXPECT_EQ(payload_error([] { encode_payload(Ping{-std::numeric_limits<double>::infinity()}); }),
              "payload for job type 'ping' cannot encode field 'value': an infinite number is not a JSON number");
    EXPECT_EQ(encode_payload(Ping{1.5}), R"({"value":1.5})");
}

TEST(ValidateJsonObject, AcceptsObjectsAndNamesThePayloadOtherwise) {
    EXPECT_NO_THROW(validate_json_object(R"({})", "payload"));
    EXPECT_NO_THROW(validate_json_object(R"(  {"a": [1, {"b": null}], "c": "d"}  )", "payload"));
    try {
        validate_json_object(R"({"a": 1,})", "payload for job type 'send_email'");
        ADD_FAILURE() << "accepted a trailing comma";
    } catch (const PayloadError& e) {
        std::string message = e.what();
        EXPECT_EQ(message.rfind("payload for job type 'send_email' is not valid JSON: ", 0), 0u) << message;
        EXPECT_NE(message.find("(at byte 8)"), std::string::npos) << message;
    }
    EXPECT_EQ(payload_error([] { validate_json_object("[]", "payload for job type 'x'"); }),
              "payload for job type 'x' must be a JSON object, not an array");
    EXPECT_EQ(payload_error([] { validate_json_object("true", "payload for job type 'x'"); }),
              "payload for job type 'x' must be a JSON object, not a boolean");
    EXPECT_EQ(payload_error([] { validate_json_object("null", "payload for job type 'x'"); }),
              "payload for job type 'x' must be a JSON object, not null");
    EXPECT_EQ(payload_error([] { validate_json_object("1.5", "payload for job type 'x'"); }),
              "payload for job type 'x' must be a JSON object, not a number");
    EXPECT_THROW(validate_json_object("{} {}", "p"), PayloadError);
    EXPECT_THROW(validate_json_object("{\"a\":NaN}", "p"), PayloadError);
}

TEST(ValidateJsonObject, RefusesWhatJsonbCannotStore) {
    // U+0000 in a string or a key.
    auto message = payload_error([] { validate_json_object(R"({"s":"a\u0000b"})", "payload for job type 'x'"); });
    EXPECT_EQ(message.rfind("payload for job type 'x' has \\u0000 in a string", 0), 0u) << message;
    EXPECT_THROW(validate_json_object(R"({"\u0000":1})", "p"), PayloadError);
    EXPECT_THROW(validate_json_object(R"({"a":["\u0000"]})", "p"), PayloadError);
    // Invalid UTF-8 (a lone continuation byte), with its offset.
    message = payload_error([] { validate_json_object("{\"s\":\"a\x80\"}", "payload for job type 'x'"); });
    EXPECT_EQ(message.rfind("payload for job type 'x' is not valid JSON: ", 0), 0u) << message;
    EXPECT_NE(message.find("(at byte"), std::string::npos) << message;
    // Other escapes and real UTF-8 are fine.
    EXPECT_NO_THROW(validate_json_object(R"({"s":"\u0001 \u00e9 \ud83d\ude00 é ☃"})", "p"));
}

TEST(ValidateJsonObject, ReadsOnlyTheGivenBytes) {
    // A view into a larger buffer: what follows the view is not part of it.
    const std::string buffer = R"({"a":1}garbage)";
    EXPECT_NO_THROW(validate_json_object(std::string_view(buffer.data(), 7), "payload"));
    EXPECT_THROW(validate_json_object(std::string_view(buffer.data(), 6), "payload"), PayloadError);
}

// Found by tests/fuzz/enqueue_validation_fuzz.cpp: RapidJSON decodes an
// escaped low surrogate with no high surrogate before it to bytes that are
// not UTF-8, and PostgreSQL refuses the insert ("Unicode low surrogate must
// follow a high surrogate").
TEST(ValidateJsonObject, RefusesALoneLowSurrogate) {
    auto message = payload_error([] { validate_json_object(R"({"s":"We\udc00lcome"})", "payload for job type 'x'"); });
    EXPECT_EQ(message.rfind("payload for job type 'x' has an unpaired low surrogate (\\udc00 to \\udfff)", 0), 0u)
        << message;
    EXPECT_THROW(validate_json_object(R"({"\udfff":1})", "p"), PayloadError);
    EXPECT_THROW(validate_json_object(R"({"a":["\ude00\ud83d"]})", "p"), PayloadError);
    // A high surrogate alone was, and is, a parse error; a pair is a character.
    EXPECT_THROW(validate_json_object(R"({"s":"\ud83d"})", "p"), PayloadError);
    EXPECT_NO_THROW(validate_json_object(R"({"s":"\ud83d\ude00"})", "p"));
}

// Found by tests/fuzz/payload_reader_fuzz.cpp (with 118446744073709551616.5e-6):
// RapidJSON's own conversion reads some doubles one unit in the last place
// off, so a double a job encoded decoded to its neighbour (0.1 + 0.2, written
// 0.30000000000000007, came back as 0.3000000000000001).
TEST(PayloadReader, DoublesDecodeToTheDoublesEncoded) {
    for (double value : {0.1 + 0.2, 0.1 * 3, 1.0 / 3, 0.7 + 0.1, 123456789.123456789, 1e23, 5e-324,
                         2.2250738585072014e-308, 1.7976931348623157e308, -0.0, 0.0}) {
        EXPECT_EQ(decode_payload<Ping>(encode_payload(Ping{value})).value, value) << encode_payload(Ping{value});
    }
    const auto found = decode_payload<Ping>(R"({"value":118446744073709551616.5e-6})");
    EXPECT_EQ(decode_payload<Ping>(encode_payload(found)).value, found.value) << encode_payload(found);
    // Correctly rounded from any text, not only from what the writer writes.
    EXPECT_EQ(decode_payload<Ping>(R"({"value":0.30000000000000004})").value, 0.1 + 0.2);
    EXPECT_EQ(decode_payload<Ping>(R"({"value":123456789012345678901234567890})").value, 1.2345678901234568e29);
}

TEST(PayloadReader, NumbersAtTheEdgesOfADouble) {
    // Below the smallest double: zero, as before.
    EXPECT_EQ(decode_payload<Ping>(R"({"value":1e-400})").value, 0.0);
    EXPECT_TRUE(std::signbit(decode_payload<Ping>(R"({"value":-1e-400})").value));
    EXPECT_EQ(decode_payload<Ping>(R"({"value":0.0e-95})").value, 0.0);
    EXPECT_EQ(decode_payload<Ping>(R"({"value":1e-99999999999})").value, 0.0);
    // Above the largest: refused (it read as infinity, which no job can encode).
    for (const char* json : {R"({"value":1.7976931348623159e308})", R"({"value":1e309})"}) {
        auto message = payload_error([&] { decode_payload<Ping>(json); });
        EXPECT_NE(message.find("is not valid JSON: Number too big to be stored in double"), std::string::npos)
            << message;
    }
    // Integers keep their widths.
    auto v = [](const char* json) -> const rapidjson::Value& { return detail::parse_payload(json, "t")["n"]; };
    EXPECT_TRUE(v(R"({"n":-2147483648})").IsInt());
    EXPECT_TRUE(!v(R"({"n":-2147483649})").IsInt() && v(R"({"n":-2147483649})").IsInt64());
    EXPECT_TRUE(v(R"({"n":4294967295})").IsUint() && !v(R"({"n":4294967295})").IsInt());
    EXPECT_TRUE(v(R"({"n":18446744073709551615})").IsUint64());
    EXPECT_EQ(v(R"({"n":-9223372036854775808})").GetInt64(), std::numeric_limits<std::int64_t>::min());
    EXPECT_TRUE(v(R"({"n":18446744073709551616})").IsDouble());
    EXPECT_TRUE(v(R"({"n":-0})").IsInt());
    EXPECT_TRUE(v(R"({"n":1E+2})").IsDouble());
}

TEST(PayloadReader, A50000DeepPayloadDecodesAndValidates) {
    const std::string deep = R"({"a":)" + std::string(50'000, '[') + std::string(50'000, ']') + "}";
    EXPECT_NO_THROW(validate_json_object(deep, "payload"));
    EXPECT_EQ(payload_error([&] { decode_payload<SendEmail>(deep); }),
              "payload for job type 'send_email' is missing field 'to'");
    EXPECT_TRUE(detail::parse_payload(deep, "deep")["a"].IsArray());
}

}  // namespace
}  // namespace seesaw::test

namespace seesaw {
namespace {

// Found by the enqueue_validation fuzz target: validation accepted a number
// the payload reader refuses, so an accepted job could not be decoded.
TEST(ValidateJsonObject, RefusesANumberThePayloadReaderWouldRefuse) {
    try {
        validate_json_object(R"({"image_id": 1.7976931348666623157e308})", "payload");
        FAIL() << "accepted";
    } catch (const PayloadError& e) {
        EXPECT_NE(std::string(e.what()).find("Number too big"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(validate_json_object(R"({"image_id": 1.7976931348623157e308, "tiny": 1e-400})", "payload"));
}

}  // namespace
}  // namespace seesaw

#include "seesaw/core/limits.hpp"

#include <gtest/gtest.h>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

using namespace std::string_literals;

TEST(Limits, NamesUpToTheLimitPassAndLongerOnesAreNamed) {
    EXPECT_NO_THROW(validate_queue_name(std::string(max_queue_name_bytes, 'q'), "queue"));
    EXPECT_NO_THROW(validate_job_type(std::string(max_job_type_bytes, 't'), "job_type"));
    try {
        validate_queue_name(std::string(max_queue_name_bytes + 1, 'q'), "the queue");
        FAIL() << "accepted";
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(), "the queue is 129 bytes long; at most 128 are allowed");
    }
    EXPECT_THROW(validate_job_type(std::string(max_job_type_bytes + 1, 't'), "job_type"), UsageError);
    EXPECT_THROW(validate_job_type("", "job_type"), UsageError);
}

TEST(Limits, NulBytesAndBrokenUtf8AreRefused) {
    try {
        validate_job_type("chaos\0evil"s, "job_type");
        FAIL() << "accepted";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("'chaos\\0...' contains a NUL byte"), std::string::npos) << e.what();
    }
    EXPECT_THROW(validate_queue_name("\xff", "queue"), UsageError);
    EXPECT_NO_THROW(validate_queue_name("Ünïcödé 漢字 🚀", "queue"));
}

TEST(Limits, Utf8ValidationRefusesOverlongFormsSurrogatesAndTruncation) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x9a\x80"));
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe6\xbc"));          // cut short
    EXPECT_FALSE(is_valid_utf8("\x80"));              // a lone continuation byte
}

TEST(Limits, RunAtAndDelayStayWhereTheDatabaseAndTheClockCanHoldThem) {
    EXPECT_NO_THROW(validate_run_at(earliest_run_at, "run_at"));
    EXPECT_NO_THROW(validate_run_at(latest_run_at - std::chrono::microseconds(1), "run_at"));
    EXPECT_THROW(validate_run_at(earliest_run_at - std::chrono::microseconds(1), "run_at"), UsageError);
    EXPECT_THROW(validate_run_at(latest_run_at, "run_at"), UsageError);
    EXPECT_THROW(validate_run_at(Timestamp::min(), "run_at"), UsageError);
    EXPECT_NO_THROW(validate_delay(std::chrono::hours(24 * 365 * 1000), "delay"));
    EXPECT_THROW(validate_delay(std::chrono::milliseconds::max(), "delay"), UsageError);
    EXPECT_THROW(validate_delay(std::chrono::milliseconds(-1), "delay"), UsageError);
}

}  // namespace
}  // namespace seesaw

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "seesaw/core/error.hpp"
#include "seesaw/core/job_id.hpp"

namespace seesaw {
namespace {

TEST(JobId, GeneratesVersion7IdsInIncreasingOrder) {
    auto previous = JobId::generate();
    for (int i = 0; i < 100'000; ++i) {
        auto next = JobId::generate();
        ASSERT_LT(previous, next) << previous.to_string() << " then " << next.to_string();
        ASSERT_EQ(next.bytes()[6] >> 4, 7) << "version nibble of " << next.to_string();
        ASSERT_EQ(next.bytes()[8] >> 6, 2) << "variant bits of " << next.to_string();
        previous = next;
    }
}

TEST(JobId, TextOrderIsCreationOrder) {
    // Ids sort the same as bytes and as text (what PostgreSQL's uuid order and
    // a log reader see).
    auto a = JobId::generate();
    auto b = JobId::generate();
    EXPECT_LT(a, b);
    EXPECT_LT(a.to_string(), b.to_string());
}

TEST(JobId, CarriesTheUnixMillisecondsOfItsCreation) {
    // A fresh thread: its first id takes the clock as it is (ids generated
    // faster than 4096 per millisecond borrow from the next millisecond).
    auto now_ms = [] {
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    };
    std::uint64_t before = 0, after = 0;
    JobId id;
    std::thread([&] {
        before = now_ms();
        id = JobId::generate();
        after = now_ms();
    }).join();
    EXPECT_GE(id.unix_ms(), before);
    EXPECT_LE(id.unix_ms(), after);
}

TEST(JobId, IdsFromManyThreadsAreUnique) {
    constexpr int threads = 4;
    constexpr int per_thread = 50'000;
    std::vector<std::vector<JobId>> made(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&made, t] {
            made[t].reserve(per_thread);
            for (int i = 0; i < per_thread; ++i) made[t].push_back(JobId::generate());
        });
    }
    for (auto& w : workers) w.join();
    std::unordered_set<JobId> all;
    for (const auto& ids : made) all.insert(ids.begin(), ids.end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(JobId, RoundTripsThroughText) {
    auto id = JobId::generate();
    auto text = id.to_string();
    EXPECT_EQ(text.size(), 36u);
    EXPECT_EQ(JobId::parse(text), id);
}

TEST(JobId, ParsesUpperCaseAndWritesLowerCase) {
    auto id = JobId::parse("0190B6D2-8C4E-7A3B-9F1E-2D4C6B8A0E1F");
    EXPECT_EQ(id.to_string(), "0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1f");
    EXPECT_EQ(id.unix_ms(), 0x0190b6d28c4eULL);
    EXPECT_FALSE(id.is_nil());
    EXPECT_TRUE(JobId().is_nil());
    EXPECT_EQ(JobId().to_string(), "00000000-0000-0000-0000-000000000000");
}

TEST(JobId, RefusesTextThatIsNotAUuidAndNamesIt) {
    for (std::string bad : {"", "not-a-uuid", "0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1",     // one short
                            "0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1f0",                       // one long
                            "0190b6d28c4e7a3b9f1e2d4c6b8a0e1f",                            // no hyphens
                            "0190b6d2-8c4e-7a3b-9f1e_2d4c6b8a0e1f",                        // wrong separator
                            "0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1g",                        // not hex
                            "{0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1}"}) {
        try {
            JobId::parse(bad);
            ADD_FAILURE() << "parsed '" << bad << "'";
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find("'" + bad + "' is not a job id"), std::string::npos) << e.what();
        }
    }
}

TEST(JobId, RefusesAHyphenInsideAGroupEvenWhenTheTextAfterTheViewIsHex) {
    // 36 characters with the four hyphens in place and a fifth one inside
    // the last group; the byte after the view is a hex digit. A parser that
    // skips the stray hyphen would read past the end of the view.
    const std::string buffer = "0190b6d2-8c4e-7a3b-9f1e-2d-c6b8a0e1fa";
    std::string_view text(buffer.data(), 36);
    EXPECT_THROW(JobId::parse(text), UsageError);
}

TEST(JobId, HashesEqualIdsEqually) {
    auto id = JobId::generate();
    auto copy = JobId::parse(id.to_string());
    EXPECT_EQ(std::hash<JobId>{}(id), std::hash<JobId>{}(copy));
}

}  // namespace
}  // namespace seesaw

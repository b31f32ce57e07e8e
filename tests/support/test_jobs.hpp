#pragma once
// Job types the dispatcher tests run.
#include <string>

#include "seesaw/core/job_traits.hpp"

namespace seesaw::test {

struct Echo {
    std::string text;
};

// Runs until told otherwise by the test (sleep_ms, or a flag the test holds).
struct Work {
    std::int64_t n = 0;
    std::int64_t sleep_ms = 0;
};

// Kills the process that runs it (a handler that segfaults or is OOM-killed).
struct Crash {
    std::int64_t n = 0;
};

}  // namespace seesaw::test

template <>
struct seesaw::JobTraits<seesaw::test::Echo> {
    static constexpr std::string_view name = "echo";
    static void encode(const seesaw::test::Echo& job, PayloadWriter& out) { out.field("text", job.text); }
    static seesaw::test::Echo decode(const PayloadReader& in) { return {in.string("text")}; }
};

template <>
struct seesaw::JobTraits<seesaw::test::Work> {
    static constexpr std::string_view name = "work";
    static void encode(const seesaw::test::Work& job, PayloadWriter& out) {
        out.field("n", job.n).field("sleep_ms", job.sleep_ms);
    }
    static seesaw::test::Work decode(const PayloadReader& in) {
        return {in.int64("n"), in.optional_int64("sleep_ms").value_or(0)};
    }
};

template <>
struct seesaw::JobTraits<seesaw::test::Crash> {
    static constexpr std::string_view name = "crash";
    static void encode(const seesaw::test::Crash& job, PayloadWriter& out) { out.field("n", job.n); }
    static seesaw::test::Crash decode(const PayloadReader& in) { return {in.int64("n")}; }
};

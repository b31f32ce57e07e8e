// JobId: UUIDv7 generation (every enqueue), its text form (every bulk
// enqueue and completion array), and parsing (every claimed row).
#include <string>
#include <vector>

#include "micro_support.hpp"

namespace seesaw::bench {
namespace {

void BM_JobIdGenerate(benchmark::State& state) {
    for (auto _ : state) {
        auto id = JobId::generate();
        benchmark::DoNotOptimize(id);
    }
}
BENCHMARK(BM_JobIdGenerate);

void BM_JobIdToString(benchmark::State& state) {
    const auto id = JobId::generate();
    for (auto _ : state) {
        auto text = id.to_string();
        benchmark::DoNotOptimize(text);
    }
}
BENCHMARK(BM_JobIdToString);

void BM_JobIdWriteTo(benchmark::State& state) {
    const auto id = JobId::generate();
    char out[36];
    for (auto _ : state) {
        id.write_to(out);
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_JobIdWriteTo);

// One text over and over: the branch predictor learns its digits.
void BM_JobIdParse(benchmark::State& state) {
    const auto text = JobId::generate().to_string();
    for (auto _ : state) {
        auto id = JobId::parse(text);
        benchmark::DoNotOptimize(id);
    }
}
BENCHMARK(BM_JobIdParse);

// 1024 different ids in turn, as claimed rows and RETURNING lists bring them.
void BM_JobIdParseDistinct(benchmark::State& state) {
    std::vector<std::string> texts;
    for (int i = 0; i < 1024; ++i) texts.push_back(JobId::generate().to_string());
    std::size_t i = 0;
    for (auto _ : state) {
        auto id = JobId::parse(texts[i]);
        benchmark::DoNotOptimize(id);
        i = (i + 1) & 1023;
    }
}
BENCHMARK(BM_JobIdParseDistinct);

}  // namespace
}  // namespace seesaw::bench

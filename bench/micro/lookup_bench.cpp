// Handler lookup by job type, as the claimer does it for every claimed row:
// the type is a string_view into the claim's PGresult, the registry an
// std::unordered_map<std::string, std::unique_ptr<HandlerEntry>>.
#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>

#include "micro_support.hpp"
#include "seesaw/dispatch/dispatcher.hpp"

namespace seesaw::bench {
namespace {

using Registry = std::unordered_map<std::string, std::unique_ptr<HandlerEntry>>;

// A hash that finds std::string keys from a string_view without making a
// std::string (C++20 heterogeneous lookup).
struct TypeNameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
};
using TransparentRegistry =
    std::unordered_map<std::string, std::unique_ptr<HandlerEntry>, TypeNameHash, std::equal_to<>>;

template <class Map>
Map make_registry(const std::vector<std::string>& types) {
    Map map;
    for (const auto& type : types)
        map.emplace(type, std::make_unique<HandlerEntry>(HandlerEntry{type, {}, [](std::string_view, JobContext&) {}}));
    return map;
}

// 1024 claimed rows whose job_type cells cycle through the registered types
// in a shuffled order.
FakeResult claimed_types(const std::vector<std::string>& types) {
    FakeResult result(1);
    std::mt19937 random(42);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < 1024; ++i) order.push_back(i % types.size());
    std::shuffle(order.begin(), order.end(), random);
    for (auto i : order) result.add_row({types[i]});
    return result;
}

std::vector<std::string> types_for(const benchmark::State& state) {
    auto n = static_cast<std::size_t>(state.range(0));
    return state.range(1) != 0 ? long_job_types(n) : short_job_types(n);
}

// What producer.cpp does: handlers_.find(std::string(pg::value(...))). A
// type name longer than 15 bytes makes that temporary allocate.
void BM_HandlerLookup(benchmark::State& state) {
    const auto types = types_for(state);
    const auto registry = make_registry<Registry>(types);
    const auto rows = claimed_types(types);
    int row = 0;
    for (auto _ : state) {
        auto found = registry.find(std::string(rows.value(row, 0)));
        benchmark::DoNotOptimize(found->second.get());
        row = (row + 1) & 1023;
    }
}

// The same lookup with a transparent hash: find(string_view), no temporary.
void BM_HandlerLookupTransparent(benchmark::State& state) {
    const auto types = types_for(state);
    const auto registry = make_registry<TransparentRegistry>(types);
    const auto rows = claimed_types(types);
    int row = 0;
    for (auto _ : state) {
        auto found = registry.find(rows.value(row, 0));
        benchmark::DoNotOptimize(found->second.get());
        row = (row + 1) & 1023;
    }
}

void lookup_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"types", "long_names"});
    for (int long_names : {0, 1})
        for (int n : {5, 10, 20}) b->Args({n, long_names});
}
BENCHMARK(BM_HandlerLookup)->Apply(lookup_args);
BENCHMARK(BM_HandlerLookupTransparent)->Apply(lookup_args);

}  // namespace
}  // namespace seesaw::bench

// Handler lookup by job type, as the producer does it for every claimed row:
// the type is a string_view into the claim's PGresult (pg::value), the
// registry the engine's own map type (detail::StringMap: a transparent hash,
// so find(string_view) makes no std::string). For comparison, the same
// lookup in an std::unordered_map<std::string, …>, which needs a temporary
// std::string per row.
#include <algorithm>
#include <memory>
#include <random>
#include <unordered_map>

#include "fake_statements.hpp"
#include "metrics.hpp"
#include "micro_support.hpp"
#include "pg.hpp"
#include "seesaw/dispatch/dispatcher.hpp"

namespace seesaw::bench {
namespace {

template <class Map>
Map make_registry(const std::vector<std::string>& types) {
    Map map;
    for (const auto& type : types)
        map.emplace(type, std::make_unique<HandlerEntry>(HandlerEntry{type, {}, [](std::string_view, JobContext&) {}}));
    return map;
}

// A PGresult of 1,024 rows whose one column cycles through the registered
// types in a shuffled order.
std::unique_ptr<PGresult, void (*)(PGresult*)> claimed_types(const std::vector<std::string>& types) {
    std::mt19937 random(42);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < 1024; ++i) order.push_back(i % types.size());
    std::shuffle(order.begin(), order.end(), random);
    std::vector<test::FakeRow> rows;
    for (auto i : order) rows.push_back({types[i]});
    return test::FakeAnswer::rows({"job_type"}, std::move(rows)).make_result();
}

std::vector<std::string> types_for(const benchmark::State& state) {
    auto n = static_cast<std::size_t>(state.range(0));
    return state.range(1) != 0 ? long_job_types(n) : short_job_types(n);
}

// Map::find of each row's type, as `find` makes the key from a view of the
// PGresult's text (the views are taken up front: the lookup alone is timed).
template <class Map, class Find>
void lookup(benchmark::State& state, Find find) {
    const auto types = types_for(state);
    const auto registry = make_registry<Map>(types);
    const auto result = claimed_types(types);
    std::vector<std::string_view> rows;
    for (int row = 0; row < PQntuples(result.get()); ++row) rows.push_back(pg::value(result.get(), row, 0));
    std::size_t row = 0;
    for (auto _ : state) {
        auto found = find(registry, rows[row]);
        benchmark::DoNotOptimize(found->second.get());
        row = (row + 1) & 1023;
    }
}

// What the engine does (dispatcher.cpp's handler_for): handlers_.find(type).
void BM_HandlerLookup(benchmark::State& state) {
    using Map = detail::StringMap<std::unique_ptr<HandlerEntry>>;
    lookup<Map>(state, [](const Map& map, std::string_view type) { return map.find(type); });
}

// With std::string keys and no transparent hash: a temporary std::string
// per lookup, which allocates for names over 15 bytes.
void BM_HandlerLookupTemporaryString(benchmark::State& state) {
    using Map = std::unordered_map<std::string, std::unique_ptr<HandlerEntry>>;
    lookup<Map>(state, [](const Map& map, std::string_view type) { return map.find(std::string(type)); });
}

void lookup_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"types", "long_names"});
    for (int long_names : {0, 1})
        for (int n : {5, 10, 20}) b->Args({n, long_names});
}
BENCHMARK(BM_HandlerLookup)->Apply(lookup_args);
BENCHMARK(BM_HandlerLookupTemporaryString)->Apply(lookup_args);

}  // namespace
}  // namespace seesaw::bench

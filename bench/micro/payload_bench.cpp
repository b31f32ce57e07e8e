// Payload codec: what a worker does before calling a typed handler
// (decode_payload<T>: parse into the per-thread document, then read the
// fields), and what enqueue does (encode_payload<T>), for a SendEmail-like
// job of four fields.
#include <string>
#include <vector>

#include "micro_support.hpp"

namespace seesaw::bench {
namespace {

// 1024 different payloads, read in turn, so the branch predictor cannot
// learn one text.
std::vector<std::string> claimed_payloads() {
    std::vector<std::string> payloads;
    for (int i = 0; i < 1024; ++i) payloads.push_back(claimed_payload(i));
    return payloads;
}

std::int64_t total_bytes(const std::vector<std::string>& texts) {
    std::int64_t bytes = 0;
    for (const auto& t : texts) bytes += static_cast<std::int64_t>(t.size());
    return bytes;
}

// Parse and read the fields into a SendEmail (two heap strings).
void BM_DecodePayload(benchmark::State& state) {
    const auto payloads = claimed_payloads();
    std::size_t i = 0;
    for (auto _ : state) {
        auto job = decode_payload<SendEmail>(payloads[i]);
        benchmark::DoNotOptimize(job);
        i = (i + 1) & 1023;
    }
    state.SetBytesProcessed(state.iterations() * total_bytes(payloads) / 1024);
}
BENCHMARK(BM_DecodePayload);

// The parse alone (per-thread document, no field read): what decode costs
// before the type's own code runs.
void BM_ParsePayloadDocument(benchmark::State& state) {
    const auto payloads = claimed_payloads();
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& doc = detail::parse_payload(payloads[i], "send_email");
        benchmark::DoNotOptimize(&doc);
        i = (i + 1) & 1023;
    }
    state.SetBytesProcessed(state.iterations() * total_bytes(payloads) / 1024);
}
BENCHMARK(BM_ParsePayloadDocument);

void BM_EncodePayload(benchmark::State& state) {
    const auto job = sample_email(7);
    for (auto _ : state) {
        auto json = encode_payload(job);
        benchmark::DoNotOptimize(json);
    }
}
BENCHMARK(BM_EncodePayload);

// The SAX check enqueue runs on every payload (no DOM).
void BM_ValidateJsonObject(benchmark::State& state) {
    const auto json = encode_payload(sample_email(7));
    for (auto _ : state) validate_json_object(json, "payload for job type 'send_email'");
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(json.size()));
}
BENCHMARK(BM_ValidateJsonObject);

}  // namespace
}  // namespace seesaw::bench

#include "seesaw/core/job_id.hpp"

#include <chrono>
#include <cstring>
#include <random>

#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

// splitmix64: a small, fast generator, seeded per thread from the OS.
struct ThreadRandom {
    std::uint64_t state;
    ThreadRandom() {
        std::random_device device;
        state = (std::uint64_t{device()} << 32) ^ device();
    }
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

// Per-thread monotonic state: the 12-bit rand_a field is a counter within a
// millisecond (RFC 9562 method 1); when it overflows the timestamp moves on.
struct V7State {
    ThreadRandom random;
    std::uint64_t last_ms = 0;
    std::uint16_t counter = 0;
};

// Hex digit → value, anything else → 0x80 (checked once, after the loop).
constexpr std::array<std::uint8_t, 256> hex_digits = [] {
    std::array<std::uint8_t, 256> table{};
    table.fill(0x80);
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'A' + 10);
    return table;
}();
// Where each byte's two hex digits start in the 8-4-4-4-12 form.
constexpr std::array<std::size_t, 16> digit_offsets = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

}  // namespace

JobId JobId::generate() {
    thread_local V7State state;
    auto now_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    if (now_ms > state.last_ms) {
        state.last_ms = now_ms;
        // Start each millisecond low in the counter space so it rarely overflows.
        state.counter = static_cast<std::uint16_t>(state.random.next() & 0x1ff);
    } else if (++state.counter > 0xfff) {
        ++state.last_ms;
        state.counter = 0;
    }
    std::uint64_t ms = state.last_ms;
    std::uint64_t tail = state.random.next();

    std::array<std::uint8_t, 16> b{};
    for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
    b[6] = static_cast<std::uint8_t>(0x70 | ((state.counter >> 8) & 0x0f));
    b[7] = static_cast<std::uint8_t>(state.counter & 0xff);
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<std::uint8_t>(tail >> (56 - 8 * i));
    b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
    return JobId(b);
}

std::optional<JobId> JobId::try_parse(std::string_view text) noexcept {
    // Hyphens at fixed places (8-4-4-4-12), hex digits everywhere else. One
    // table lookup per digit and one validity check at the end: no branch
    // per (random) digit.
    if (text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-') {
        std::array<std::uint8_t, 16> b{};
        std::uint8_t invalid = 0;
        for (std::size_t i = 0; i < 16; ++i) {
            auto hi = hex_digits[static_cast<unsigned char>(text[digit_offsets[i]])];
            auto lo = hex_digits[static_cast<unsigned char>(text[digit_offsets[i] + 1])];
            invalid |= hi | lo;
            b[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0x0f));
        }
        if ((invalid & 0x80) == 0) return JobId(b);
    }
    return std::nullopt;
}

JobId JobId::parse(std::string_view text) {
    if (auto id = try_parse(text)) return *id;
    throw UsageError("'" + std::string(text) +
                     "' is not a job id: expected a UUID like 0190b6d2-8c4e-7a3b-9f1e-2d4c6b8a0e1f");
}

void JobId::write_to(char* out) const {
    static constexpr char digits[] = "0123456789abcdef";
    std::size_t pos = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[pos++] = '-';
        out[pos++] = digits[bytes_[i] >> 4];
        out[pos++] = digits[bytes_[i] & 0x0f];
    }
}

std::string JobId::to_string() const {
    std::string out(36, '\0');
    write_to(out.data());
    return out;
}

bool JobId::is_nil() const noexcept {
    for (auto byte : bytes_)
        if (byte != 0) return false;
    return true;
}

std::uint64_t JobId::unix_ms() const noexcept {
    std::uint64_t ms = 0;
    for (int i = 0; i < 6; ++i) ms = ms << 8 | bytes_[i];
    return ms;
}

}  // namespace seesaw

std::size_t std::hash<seesaw::JobId>::operator()(const seesaw::JobId& id) const noexcept {
    // The random tail of a v7 id is already uniformly distributed.
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, id.bytes().data(), 8);
    std::memcpy(&lo, id.bytes().data() + 8, 8);
    return static_cast<std::size_t>(lo ^ (hi * 0x9e3779b97f4a7c15ULL));
}

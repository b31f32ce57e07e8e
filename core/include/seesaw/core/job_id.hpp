#pragma once
// JobId: a UUID. New ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds,
// then random bits, so ids sort by creation time and an enqueue knows its id
// without a round trip to the database.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace seesaw {

class JobId {
public:
    constexpr JobId() = default;
    explicit constexpr JobId(const std::array<std::uint8_t, 16>& bytes) : bytes_(bytes) {}

    // A new UUIDv7. Ids made by one thread are strictly increasing.
    static JobId generate();
    // Parses the canonical 8-4-4-4-12 hex form (either case); throws
    // UsageError naming the text when it is not a UUID.
    static JobId parse(std::string_view text);
    // The same; nullopt when text is not a UUID.
    static std::optional<JobId> try_parse(std::string_view text) noexcept;

    std::string to_string() const;
    // Writes the 36 characters of the canonical form to out.
    void write_to(char* out) const;
    const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
    bool is_nil() const noexcept;
    // For UUIDv7 ids: the Unix time in milliseconds stored in the id.
    std::uint64_t unix_ms() const noexcept;

    friend constexpr auto operator<=>(const JobId&, const JobId&) = default;

private:
    std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace seesaw

template <>
struct std::hash<seesaw::JobId> {
    std::size_t operator()(const seesaw::JobId& id) const noexcept;
};

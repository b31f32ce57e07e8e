// JobId::parse on any text: an id or a UsageError, and an id prints back as
// the text it came from (in lower case). Any 16 bytes print as text that
// parses back to them.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "fuzz_check.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = seesaw::fuzz::text_of(data, size);
    try {
        const auto id = seesaw::JobId::parse(text);
        std::string lower(text);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        SEESAW_FUZZ_CHECK(id.to_string() == lower);
        SEESAW_FUZZ_CHECK(seesaw::JobId::parse(id.to_string()) == id);
    } catch (const seesaw::UsageError&) {
        SEESAW_FUZZ_CHECK(size != 36 || std::count(text.begin(), text.end(), '-') != 4 || text[8] != '-' ||
                          text[13] != '-' || text[18] != '-' || text[23] != '-' ||
                          !std::all_of(text.begin(), text.end(),
                                       [](unsigned char c) { return c == '-' || std::isxdigit(c); }));
    }

    if (size >= 16) {
        std::array<std::uint8_t, 16> bytes{};
        std::memcpy(bytes.data(), data, bytes.size());
        const seesaw::JobId id(bytes);
        char written[36];
        id.write_to(written);
        SEESAW_FUZZ_CHECK(std::string_view(written, sizeof written) == id.to_string());
        SEESAW_FUZZ_CHECK(seesaw::JobId::parse(id.to_string()) == id);
        SEESAW_FUZZ_CHECK(id.is_nil() == (bytes == std::array<std::uint8_t, 16>{}));
    }
    return 0;
}

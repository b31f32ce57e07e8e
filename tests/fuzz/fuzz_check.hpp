#pragma once
// What the fuzz targets share. A property that does not hold aborts with the
// expression, which libFuzzer reports as a crash and saves the input. An
// exception of a type the target does not catch ends in std::terminate: the
// same report, so "throws nothing but X" is a catch of X and nothing else.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define SEESAW_FUZZ_CHECK(condition)                                                                   \
    do {                                                                                               \
        if (!(condition)) {                                                                            \
            std::fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                              \
        }                                                                                              \
    } while (false)

namespace seesaw::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace seesaw::fuzz

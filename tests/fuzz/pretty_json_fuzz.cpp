// The CLI's pretty_json (cli/src/output.cpp, `seesaw jobs show`) on any
// bytes: JSON comes out as the compact writer writes it plus layout, in at
// most a constant times its size however deep it nests; anything else comes
// out unchanged.
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>

#include "fuzz_check.hpp"
#include "output.hpp"

namespace {

// The document on one line; nullopt when the text is not JSON (or has a
// number that reads as infinity).
std::optional<std::string> compact(std::string_view json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(json.data(), json.size());
    if (reader.Parse<rapidjson::kParseIterativeFlag>(stream, writer).IsError()) return std::nullopt;
    return std::string(buffer.GetString(), buffer.GetSize());
}

// JSON text without the spaces and newlines between tokens. (Not re-parsed:
// RapidJSON does not always read a double back from its own shortest form.)
std::string without_layout(std::string_view json) {
    std::string out;
    bool in_string = false;
    bool escaped = false;
    for (char c : json) {
        if (in_string) {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if (c == ' ' || c == '\n') {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push_back(c);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto json = seesaw::fuzz::text_of(data, size);
    const auto pretty = seesaw::cli::pretty_json(json);
    const auto expected = compact(json);
    if (!expected) {
        SEESAW_FUZZ_CHECK(pretty == json);
        return 0;
    }
    // The same tokens as the compact writer's: only whitespace added.
    SEESAW_FUZZ_CHECK(without_layout(pretty) == *expected);
    // At worst a one-byte value and its comma, at the deepest indentation:
    // ",\n" + 64 spaces + the value for 2 bytes of input.
    SEESAW_FUZZ_CHECK(pretty.size() <= 34 * size + 64);
    return 0;
}

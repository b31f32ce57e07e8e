// pretty_json: ordinary payloads print as RapidJSON's PrettyWriter prints
// them; deeply nested ones print in space linear in their size.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>

#include <sstream>
#include <string>
#include <vector>

#include "output.hpp"

namespace seesaw::cli {
namespace {

// What `seesaw jobs show` printed before indentation was capped: a DOM
// through PrettyWriter.
std::string pretty_writer(const std::string& json) {
    rapidjson::Document doc;
    doc.Parse(json.c_str(), json.size());
    EXPECT_FALSE(doc.HasParseError()) << json;
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 2);
    doc.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
}

// The same document on one line (iteratively: the input may nest deeply).
std::string compact(const std::string& json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(json.data(), json.size());
    EXPECT_FALSE(reader.Parse<rapidjson::kParseIterativeFlag>(stream, writer).IsError());
    return std::string(buffer.GetString(), buffer.GetSize());
}

std::string nested_arrays(std::size_t depth, const std::string& inner = "") {
    return std::string(depth, '[') + inner + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
    std::string json;
    for (std::size_t i = 0; i < depth; ++i) json += "{\"a\":";
    json += "1";
    json += std::string(depth, '}');
    return json;
}

TEST(CliOutput, PrettyJsonOfAPayload) {
    EXPECT_EQ(pretty_json(R"({"sizes":[128,512,1024],"image_id":903})"),
              "{\n"
              "  \"sizes\": [\n"
              "    128,\n"
              "    512,\n"
              "    1024\n"
              "  ],\n"
              "  \"image_id\": 903\n"
              "}");
    EXPECT_EQ(pretty_json("{}"), "{}");
    EXPECT_EQ(pretty_json(R"({"a":[],"b":{}})"), "{\n  \"a\": [],\n  \"b\": {}\n}");
}

TEST(CliOutput, PrettyJsonPrintsOrdinaryPayloadsAsPrettyWriterDoes) {
    for (const auto& json : std::vector<std::string>{
             R"({"to":"user22@example.com","template":"welcome"})",
             R"({"n":0,"neg":-7,"big":18446744073709551615,"small":-9223372036854775808,"pi":3.14159,"e":1e-7})",
             R"({"t":true,"f":false,"z":null,"s":"tab\there \"quoted\" \u00e9 \ud83d\ude00 \u0001"})",
             R"({"deep":{"er":{"still":[1,[2,[3,{"x":[]}]],{}]}},"list":[{"a":1},{"b":[null,true]}]})",
             R"([1,"two",{"three":3}])",
             R"("just a string")",
             "  {\n \"spaced\" :\t[ 1 , 2 ] }  ",
             nested_arrays(32, "1,2"),
             nested_objects(32),
         })
        EXPECT_EQ(pretty_json(json), pretty_writer(json)) << json;
}

TEST(CliOutput, PrettyJsonWritesValuesBelow32LevelsOnOneLine) {
    const std::string indent(2 * 32, ' ');
    // The 33rd array opens on its own line at the deepest indentation and
    // holds the rest on that line.
    auto out = pretty_json(nested_arrays(34, "1,2"));
    EXPECT_NE(out.find("\n" + indent + "[[1,2]]\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("\n" + indent + " "), std::string::npos) << out;
    EXPECT_EQ(compact(out), nested_arrays(34, "1,2"));

    out = pretty_json(nested_objects(40));
    EXPECT_NE(out.find("\n" + indent + "\"a\": {\"a\":{\"a\":"), std::string::npos) << out;
    EXPECT_EQ(compact(out), nested_objects(40));
}

TEST(CliOutput, PrettyJsonOfA50000DeepPayloadIsLinearInItsSize) {
    for (const auto& json : {nested_arrays(50'000), nested_arrays(50'000, "{\"k\":[1,2,3]}"), nested_objects(50'000)}) {
        auto out = pretty_json(json);
        EXPECT_LT(out.size(), 2 * json.size());
        EXPECT_EQ(compact(out), json);  // the same document, not a fallback to the raw text
        EXPECT_NE(out, json);
    }
}

TEST(CliOutput, PrettyJsonIsAtMost34TimesItsInputAtTheWorstDepth) {
    // Short values at the deepest indented level cost the most per byte.
    std::string ones = "1";
    for (int i = 0; i < 10'000; ++i) ones += ",1";
    std::string empties = "[]";
    for (int i = 0; i < 10'000; ++i) empties += ",[]";
    for (const auto& json : {nested_arrays(32, ones), nested_arrays(32, empties)}) {
        auto out = pretty_json(json);
        EXPECT_LE(out.size(), 34 * json.size());
        EXPECT_EQ(compact(out), json);
    }
}

TEST(CliOutput, JobsJsonEmbedsThePayloadCompactly) {
    Job job;
    job.payload = "{\"sizes\": [128, 512, 1024], \"image_id\": 903}";
    std::ostringstream out;
    print_jobs_json(out, "jobs", {job});
    EXPECT_NE(out.str().find(R"("payload":{"sizes":[128,512,1024],"image_id":903}}]})"), std::string::npos)
        << out.str();
}

// jsonb stores a number just above the largest double, which RapidJSON reads
// as infinity and a Writer refuses: the job's JSON stopped after "x": and
// was not JSON (an assertion failure in a debug build).
TEST(CliOutput, JobsJsonStaysJsonWhenAPayloadNumberIsBeyondADouble) {
    Job job;
    job.payload = R"({"x": 1.7976931348623159e308})";
    std::ostringstream out;
    print_jobs_json(out, "jobs", {job});
    rapidjson::Document doc;
    doc.Parse(out.str().c_str());
    ASSERT_FALSE(doc.HasParseError()) << out.str();
    EXPECT_STREQ(doc["jobs"][0]["payload"].GetString(), job.payload.c_str());
    EXPECT_EQ(pretty_json(job.payload), job.payload);
}

TEST(CliOutput, PrettyJsonReturnsTextThatIsNotJsonAsItIs) {
    const auto one_too_many_closed = nested_arrays(50'000).substr(1);
    for (const auto& text : std::vector<std::string>{"", "{", "not json", "{\"a\":1}x", one_too_many_closed})
        EXPECT_EQ(pretty_json(text), text);
}

}  // namespace
}  // namespace seesaw::cli

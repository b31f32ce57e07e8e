// Decoding payloads of typed jobs (JobTraits + PayloadReader) from any
// bytes: each decode returns a job or throws PayloadError (nothing else), and
// a decoded job encodes to a payload that decodes to the same job.
//
// The job types use what PayloadReader offers: strings, numbers of each
// width, booleans, optional fields, nested objects and arrays.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job_traits.hpp"

namespace {

struct SendEmail {
    std::string to;
    std::string subject;
    std::optional<std::string> reply_to;
    std::int32_t retries_left = 0;
    bool html = false;
    std::optional<bool> track_opens;
    friend bool operator==(const SendEmail&, const SendEmail&) = default;
};

struct ResizeImage {
    std::int64_t image_id = 0;
    std::vector<std::int32_t> sizes;
    double quality = 0;
    std::optional<double> sharpen;
    std::optional<std::int64_t> owner;
    friend bool operator==(const ResizeImage&, const ResizeImage&) = default;
};

struct OrderLine {
    std::string sku;
    std::int32_t quantity = 0;
    double price = 0;
    friend bool operator==(const OrderLine&, const OrderLine&) = default;
};

struct Customer {
    std::string name;
    std::optional<std::int64_t> loyalty_id;
    friend bool operator==(const Customer&, const Customer&) = default;
};

struct PlaceOrder {
    Customer customer;
    std::vector<OrderLine> lines;
    std::vector<std::string> tags;
    std::optional<std::string> note;
    friend bool operator==(const PlaceOrder&, const PlaceOrder&) = default;
};

// The checks a decoder writes for what PayloadReader has no accessor for.
const rapidjson::Value& array_field(const seesaw::PayloadReader& in, std::string_view field) {
    const auto& v = in.value(field);
    if (!v.IsArray()) in.fail("has field '" + std::string(field) + "' that is not an array");
    return v;
}

seesaw::PayloadReader object_field(const seesaw::PayloadReader& in, std::string_view field) {
    const auto& v = in.value(field);
    if (!v.IsObject()) in.fail("has field '" + std::string(field) + "' that is not an object");
    return seesaw::PayloadReader(v, in.job_type());
}

}  // namespace

template <>
struct seesaw::JobTraits<SendEmail> {
    static constexpr std::string_view name = "send_email";
    static void encode(const SendEmail& job, seesaw::PayloadWriter& out) {
        out.field("to", job.to)
            .field("subject", job.subject)
            .field("reply_to", job.reply_to)
            .field("retries_left", job.retries_left)
            .field("html", job.html)
            .field("track_opens", job.track_opens);
    }
    static SendEmail decode(const seesaw::PayloadReader& in) {
        return {in.string("to"),           in.string("subject"), in.optional_string("reply_to"),
                in.int32("retries_left"), in.boolean("html"),   in.optional_boolean("track_opens")};
    }
};

template <>
struct seesaw::JobTraits<ResizeImage> {
    static constexpr std::string_view name = "resize_image";
    static void encode(const ResizeImage& job, seesaw::PayloadWriter& out) {
        out.field("image_id", job.image_id);
        out.key("sizes").raw().StartArray();
        for (auto size : job.sizes) out.raw().Int(size);
        out.raw().EndArray();
        out.field("quality", job.quality).field("sharpen", job.sharpen).field("owner", job.owner);
    }
    static ResizeImage decode(const seesaw::PayloadReader& in) {
        ResizeImage job{in.int64("image_id"), {}, in.number("quality"), in.optional_number("sharpen"),
                        in.optional_int64("owner")};
        for (const auto& size : array_field(in, "sizes").GetArray()) {
            if (!size.IsInt()) in.fail("has a size that is not a 32-bit integer");
            job.sizes.push_back(size.GetInt());
        }
        return job;
    }
};

template <>
struct seesaw::JobTraits<PlaceOrder> {
    static constexpr std::string_view name = "place_order";
    static void encode(const PlaceOrder& job, seesaw::PayloadWriter& out) {
        out.key("customer").raw().StartObject();
        seesaw::PayloadWriter(out.raw()).field("name", job.customer.name).field("loyalty_id", job.customer.loyalty_id);
        out.raw().EndObject();
        out.key("lines").raw().StartArray();
        for (const auto& line : job.lines) {
            out.raw().StartObject();
            seesaw::PayloadWriter(out.raw())
                .field("sku", line.sku)
                .field("quantity", line.quantity)
                .field("price", line.price);
            out.raw().EndObject();
        }
        out.raw().EndArray();
        out.key("tags").raw().StartArray();
        for (const auto& tag : job.tags) out.raw().String(tag.data(), static_cast<rapidjson::SizeType>(tag.size()));
        out.raw().EndArray();
        out.field("note", job.note);
    }
    static PlaceOrder decode(const seesaw::PayloadReader& in) {
        PlaceOrder job;
        auto customer = object_field(in, "customer");
        job.customer = {customer.string("name"), customer.optional_int64("loyalty_id")};
        for (const auto& line : array_field(in, "lines").GetArray()) {
            if (!line.IsObject()) in.fail("has an order line that is not an object");
            seesaw::PayloadReader fields(line, in.job_type());
            job.lines.push_back({fields.string("sku"), fields.int32("quantity"), fields.number("price")});
        }
        for (const auto& tag : array_field(in, "tags").GetArray()) {
            if (!tag.IsString()) in.fail("has a tag that is not a string");
            job.tags.emplace_back(tag.GetString(), tag.GetStringLength());
        }
        job.note = in.optional_string("note");
        return job;
    }
};

namespace {

bool accepted_by_enqueue(std::string_view json) {
    try {
        seesaw::validate_json_object(json, "payload");
        return true;
    } catch (const seesaw::PayloadError&) {
        return false;
    }
}

template <class T>
void round_trip(std::string_view json) {
    std::optional<T> job;
    try {
        job = seesaw::decode_payload<T>(json);
    } catch (const seesaw::PayloadError& e) {
        SEESAW_FUZZ_CHECK(std::string_view(e.what()).starts_with("payload for job type '"));
        return;
    }
    const auto encoded = seesaw::encode_payload(*job);
    // What an enqueue accepts (what jsonb could have stored) re-encodes to
    // what it accepts. (The decoder also reads strings jsonb cannot hold.)
    if (accepted_by_enqueue(json)) {
        seesaw::validate_json_object(encoded, "the encoded payload");
        SEESAW_FUZZ_CHECK(accepted_by_enqueue(encoded));
    }
    SEESAW_FUZZ_CHECK(seesaw::decode_payload<T>(encoded) == *job);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto json = seesaw::fuzz::text_of(data, size);
    round_trip<SendEmail>(json);
    round_trip<ResizeImage>(json);
    round_trip<PlaceOrder>(json);

    // The accessors on whatever object came in, whatever its fields hold.
    try {
        seesaw::PayloadReader in(seesaw::detail::parse_payload(json, "any"), "any");
        for (const auto& member : in.object().GetObject()) {
            const std::string_view field(member.name.GetString(), member.name.GetStringLength());
            SEESAW_FUZZ_CHECK(in.has(field));
            for (auto read : {+[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.string(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.int64(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.int32(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.number(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.boolean(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.optional_string(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.optional_int64(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) { (void)r.optional_number(f); },
                              +[](const seesaw::PayloadReader& r, std::string_view f) {
                                  (void)r.optional_boolean(f);
                              }}) {
                try {
                    read(in, field);
                } catch (const seesaw::PayloadError& e) {
                    // (what() ends at a NUL: jsonb cannot store "\u0000", but the decoder reads it.)
                    SEESAW_FUZZ_CHECK(field.find('\0') != std::string_view::npos ||
                                      std::string_view(e.what()).find("'" + std::string(field) + "'") !=
                                          std::string_view::npos);
                }
            }
        }
    } catch (const seesaw::PayloadError&) {
        // not a JSON object
    }
    return 0;
}

#pragma once
// The demo's job types. Each is plain data with a JobTraits specialization:
// its persisted name and its JSON payload. A job inserted by plain SQL from
// any language with the same job_type and payload is run the same way.

#include <cstdint>
#include <string>

#include "seesaw/seesaw.hpp"

namespace demo {

// {"to": "ada@example.com", "subject": "Welcome"} — quick, always succeeds.
struct SendEmail {
    std::string to;
    std::string subject;
};

// {"url": "https://…/cat.png", "width": 640} — a few milliseconds of work.
struct ResizeImage {
    std::string url;
    std::int64_t width = 0;
};

// {"account": "acct-42", "amount_cents": 1999, "fail_times": 2} — the first
// fail_times attempts fail (retryable), then it succeeds: shows retries.
struct ChargeCard {
    std::string account;
    std::int64_t amount_cents = 0;
    std::int64_t fail_times = 0;
};

// {"report_id": 7, "seconds": 3} — slow: runs longer than the demo's lease,
// which heartbeats keep extending.
struct GenerateReport {
    std::int64_t report_id = 0;
    double seconds = 1.0;
};

// {"reason": "corrupt input"} — can never succeed: dead-lettered at once.
struct PoisonPill {
    std::string reason;
};

// {} — inserted every second by the maintenance leader (a periodic
// schedule, "demo-tick"), into the queue "ticks".
struct Tick {};

}  // namespace demo

template <>
struct seesaw::JobTraits<demo::SendEmail> {
    static constexpr std::string_view name = "send_email";
    static void encode(const demo::SendEmail& j, PayloadWriter& out) { out.field("to", j.to).field("subject", j.subject); }
    static demo::SendEmail decode(const PayloadReader& in) { return {in.string("to"), in.string("subject")}; }
};

template <>
struct seesaw::JobTraits<demo::ResizeImage> {
    static constexpr std::string_view name = "resize_image";
    static void encode(const demo::ResizeImage& j, PayloadWriter& out) { out.field("url", j.url).field("width", j.width); }
    static demo::ResizeImage decode(const PayloadReader& in) { return {in.string("url"), in.int64("width")}; }
};

template <>
struct seesaw::JobTraits<demo::ChargeCard> {
    static constexpr std::string_view name = "charge_card";
    static void encode(const demo::ChargeCard& j, PayloadWriter& out) {
        out.field("account", j.account).field("amount_cents", j.amount_cents).field("fail_times", j.fail_times);
    }
    static demo::ChargeCard decode(const PayloadReader& in) {
        return {in.string("account"), in.int64("amount_cents"), in.optional_int64("fail_times").value_or(0)};
    }
};

template <>
struct seesaw::JobTraits<demo::GenerateReport> {
    static constexpr std::string_view name = "generate_report";
    static void encode(const demo::GenerateReport& j, PayloadWriter& out) {
        out.field("report_id", j.report_id).field("seconds", j.seconds);
    }
    static demo::GenerateReport decode(const PayloadReader& in) {
        return {in.int64("report_id"), in.optional_number("seconds").value_or(1.0)};
    }
};

template <>
struct seesaw::JobTraits<demo::PoisonPill> {
    static constexpr std::string_view name = "poison_pill";
    static void encode(const demo::PoisonPill& j, PayloadWriter& out) { out.field("reason", j.reason); }
    static demo::PoisonPill decode(const PayloadReader& in) { return {in.optional_string("reason").value_or("")}; }
};

template <>
struct seesaw::JobTraits<demo::Tick> {
    static constexpr std::string_view name = "demo_tick";
    static constexpr std::string_view queue = "ticks";
    static void encode(const demo::Tick&, PayloadWriter&) {}
    static demo::Tick decode(const PayloadReader&) { return {}; }
};

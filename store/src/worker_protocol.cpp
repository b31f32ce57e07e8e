#include "worker_protocol.hpp"

#include <algorithm>
#include <limits>

#include "pg.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {
namespace {

// A count as a valid int8 parameter: SIZE_MAX means "all".
std::string count_text(std::size_t n) {
    return pg::to_text(static_cast<std::int64_t>(std::min<std::size_t>(n, std::numeric_limits<std::int64_t>::max())));
}

// $1 ids, $2 attempts, $3 worker of items sorted by id.
template <class Item>
std::vector<std::string> sorted_lease_params(std::vector<Item>& items, std::string_view worker_id) {
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
    pg::ArrayLiteral ids, attempts;
    ids.reserve(items.size() * 37 + 2);
    for (const auto& item : items) {
        ids.add(item.id);
        attempts.add(std::int64_t{item.attempt});
    }
    return {std::move(ids).finish(), std::move(attempts).finish(), std::string(worker_id)};
}

}  // namespace

std::vector<std::string> claim_params(const ClaimRequest& request) {
    return {std::string(request.worker_id),
            std::string(request.queue),
            count_text(request.limit),
            request.job_types_literal != nullptr ? *request.job_types_literal : std::string(),
            pg::to_text(request.lease.count()),
            count_text(request.free_workers),
            pg::to_text(request.ticket_base),
            request.durable ? "on" : "off",
            request.count_free_at_claim ? "true" : "false"};
}

std::vector<bool> claim_null_params(const ClaimRequest& request) {
    std::vector<bool> nulls(9, false);
    nulls[3] = request.job_types_literal == nullptr;
    return nulls;
}

std::string job_types_literal(std::span<const std::string> job_types) {
    pg::ArrayLiteral types;
    for (const auto& type : job_types) types.add(type);
    return std::move(types).finish();
}

std::vector<ClaimedRow> decode_claim(const PGresult* r) {
    const int rows = PQntuples(r);
    std::vector<ClaimedRow> out;
    out.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
        auto value = [&](int column) { return pg::value(r, row, column); };
        auto int32 = [&](int column) { return pg::to_int<std::int32_t>(value(column)); };
        ClaimedRow claimed{JobId::parse(value(claim_id)),
                           value(claim_job_type),
                           value(claim_queue),
                           value(claim_payload),
                           int32(claim_version),
                           int32(claim_attempt),
                           int32(claim_max_retries),
                           int32(claim_priority),
                           pg::to_timestamp_us(value(claim_run_at_us)),
                           pg::to_timestamp_us(value(claim_created_at_us)),
                           pg::to_timestamp_us(value(claim_lease_expires_at_us)),
                           pg::to_int<std::int64_t>(value(claim_order)),
                           std::nullopt,
                           int32(claim_snoozes),
                           value(claim_keeps_row) == "t"};
        if (PQgetisnull(r, row, claim_lease_ticket) == 0)
            claimed.ticket = pg::to_int<std::int64_t>(value(claim_lease_ticket));
        out.push_back(claimed);
    }
    std::sort(out.begin(), out.end(), [](const ClaimedRow& a, const ClaimedRow& b) { return a.order < b.order; });
    return out;
}

std::size_t claim_found(const PGresult* result) {
    return PQntuples(result) > 0 ? pg::to_int<std::size_t>(pg::value(result, 0, claim_found_count)) : 0;
}

std::vector<std::string> lease_params(std::vector<LeaseRef>& leases, std::string_view worker_id) {
    return sorted_lease_params(leases, worker_id);
}

std::vector<std::string> heartbeat_params(std::vector<LeaseRef>& leases, std::string_view worker_id,
                                          std::chrono::milliseconds lease) {
    auto params = sorted_lease_params(leases, worker_id);
    params.push_back(pg::to_text(lease.count()));
    return params;
}

std::vector<std::string> fail_params(std::vector<FailureRef>& failures, std::string_view worker_id) {
    auto params = sorted_lease_params(failures, worker_id);
    pg::ArrayLiteral errors, kinds, delays;
    for (const auto& f : failures) {
        errors.add(f.error);
        kinds.add(to_text(f.kind));
        delays.add(static_cast<std::int64_t>(std::max<std::int64_t>(0, f.delay.count())));
    }
    params.push_back(std::move(errors).finish());
    params.push_back(std::move(kinds).finish());
    params.push_back(std::move(delays).finish());
    return params;
}

std::vector<std::string> release_unknown_params(std::string_view worker_id, std::span<const JobId> held) {
    pg::ArrayLiteral ids;
    ids.reserve(held.size() * 37 + 2);
    for (const auto& id : held) ids.add(id);
    return {std::string(worker_id), std::move(ids).finish()};
}

std::vector<JobId> returned_ids(const PGresult* result) {
    std::vector<JobId> ids;
    ids.reserve(static_cast<std::size_t>(PQntuples(result)));
    for (int row = 0; row < PQntuples(result); ++row) ids.push_back(JobId::parse(pg::value(result, row, 0)));
    return ids;
}

namespace {
std::vector<LeaseRef> heartbeat_rows(const PGresult* result, std::string_view cancelled) {
    std::vector<LeaseRef> leases;
    leases.reserve(static_cast<std::size_t>(PQntuples(result)));
    for (int row = 0; row < PQntuples(result); ++row) {
        if (pg::value(result, row, 2) != cancelled) continue;
        leases.push_back(LeaseRef{JobId::parse(pg::value(result, row, 0)),
                                  pg::to_int<std::int32_t>(pg::value(result, row, 1))});
    }
    return leases;
}
}  // namespace

std::vector<LeaseRef> returned_leases(const PGresult* result) { return heartbeat_rows(result, "f"); }
std::vector<LeaseRef> cancelled_leases(const PGresult* result) { return heartbeat_rows(result, "t"); }

std::string_view to_text(FailKind kind) noexcept {
    switch (kind) {
        case FailKind::retryable: return "retryable";
        case FailKind::non_retryable: return "non_retryable";
        case FailKind::snooze: return "snooze";
        case FailKind::cancel: return "cancel";
    }
    return "retryable";
}

std::vector<FailWritten> decode_fail(const PGresult* result) {
    std::vector<FailWritten> out;
    out.reserve(static_cast<std::size_t>(PQntuples(result)));
    for (int row = 0; row < PQntuples(result); ++row) {
        out.push_back(FailWritten{JobId::parse(pg::value(result, row, 0)),
                                  parse_job_status(pg::value(result, row, 1)).value_or(JobStatus::dead_letter),
                                  pg::to_int<std::int32_t>(pg::value(result, row, 2)),
                                  std::chrono::milliseconds(pg::to_int<std::int64_t>(pg::value(result, row, 3)))});
    }
    return out;
}

}  // namespace seesaw::detail

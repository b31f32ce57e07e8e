#include "notifier.hpp"

#include <charconv>

#include "pg.hpp"
#include "seesaw/core/log.hpp"
#include "seesaw/store/connection.hpp"
#include "store_sql.hpp"

namespace seesaw::detail {

Notifier::Notifier(Statements& database, const StoreSql& sql, std::string schema, std::string worker_id, Hooks hooks)
    : database_(database), sql_(sql), schema_(std::move(schema)), worker_id_(std::move(worker_id)),
      hooks_(std::move(hooks)) {}

void Notifier::connected() {
    if (!ready_channel_.empty()) {
        listen();
        return;
    }
    database_.send({"", &sql_.channels, {schema_}, {}, [this](const PGresult* result, const StatementFailure* failure) {
                        if (failure != nullptr) {
                            if (failure->kind == FailureKind::rejected) {
                                log(LogLevel::error, "dispatcher " + worker_id_ +
                                                         ": cannot read the notification channels (is schema '" +
                                                         schema_ + "' migrated?): " + failure->message);
                            }
                            return;
                        }
                        ready_channel_ = pg::value(result, 0, 0);
                        scheduled_channel_ = pg::value(result, 0, 1);
                        control_channel_ = pg::value(result, 0, 2);
                        listen_ready_sql_ = "LISTEN " + quote_identifier(ready_channel_);
                        listen_scheduled_sql_ = "LISTEN " + quote_identifier(scheduled_channel_);
                        listen_control_sql_ = "LISTEN " + quote_identifier(control_channel_);
                        listen();
                    }});
}

void Notifier::listen() {
    // One statement each: pipeline mode takes one per message.
    database_.send({"", &listen_ready_sql_, {}, {}, [](const PGresult*, const StatementFailure*) {}});
    database_.send({"", &listen_control_sql_, {}, {}, [](const PGresult*, const StatementFailure*) {}});
    database_.send({"", &listen_scheduled_sql_, {}, {}, [this](const PGresult*, const StatementFailure* failure) {
                        if (failure == nullptr) hooks_.listening(true);  // else: lost again; it reconnects
                    }});
}

void Notifier::lost() { hooks_.listening(false); }

void Notifier::control(std::string_view payload) {
    const auto space = payload.find(' ');
    if (space == std::string_view::npos) return;
    const auto verb = payload.substr(0, space);
    auto rest = payload.substr(space + 1);
    if (verb == "pause" || verb == "resume") {
        hooks_.paused(rest, verb == "pause");
        return;
    }
    if (verb != "cancel") return;
    std::vector<JobId> ids;
    while (!rest.empty()) {
        const auto end = std::min(rest.find(' '), rest.size());
        if (auto id = JobId::try_parse(rest.substr(0, end))) ids.push_back(*id);
        rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    hooks_.cancelled(ids);
}

void Notifier::notified(const PGnotify& notification) {
    std::string_view channel = notification.relname;
    std::string_view payload = notification.extra != nullptr ? notification.extra : "";
    if (channel == ready_channel_) {
        hooks_.ready(payload);
        return;
    }
    if (channel == control_channel_) {
        control(payload);
        return;
    }
    if (channel == scheduled_channel_) {
        // "<milliseconds until due> <queue>"
        auto space = payload.find(' ');
        if (space == std::string_view::npos) return;
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(payload.data(), payload.data() + space, ms);
        if (ec != std::errc() || end != payload.data() + space) return;
        hooks_.scheduled(payload.substr(space + 1), std::chrono::milliseconds(std::max<std::int64_t>(0, ms)));
    }
}

}  // namespace seesaw::detail

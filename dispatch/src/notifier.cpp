// The notifier: a connection that LISTENs on the schema's channels. The
// insert trigger sends the queue's name on the ready channel (once per
// statement per queue) and "<ms> <queue>" on the scheduled channel when a
// statement inserts jobs that are not due yet.
#include <charconv>

#include "engine.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

void Engine::open_listen_connection() {
    PgConnection::Callbacks callbacks;
    callbacks.connected = [this] { on_listen_connected(); };
    callbacks.lost = [this](const std::string& error) {
        listen_ready_ = false;
        publish(Disconnected{listen_->name(), error});
    };
    callbacks.notified = [this](PGnotify* notification) { on_notification(notification); };
    listen_ = std::make_unique<PgConnection>(&loop_, "listen", store_.pool().conninfo(), std::move(callbacks));
    listen_->open();
}

void Engine::on_listen_connected() {
    auto listen = [this] {
        // Two statements: pipeline mode takes one per message.
        const std::string ready_sql = "LISTEN " + quote_identifier(ready_channel_);
        const std::string scheduled_sql = "LISTEN " + quote_identifier(scheduled_channel_);
        listen_->send({"", &ready_sql, {}, {}, [](PGresult*, std::exception_ptr) {}});
        listen_->send({"", &scheduled_sql, {}, {}, [this](PGresult*, std::exception_ptr error) {
                           if (error) return;  // lost again; it reconnects
                           listen_ready_ = true;
                           announce_if_reconnected(*listen_, "listen");
                           // Notifications sent while we were not listening are
                           // gone: claim now to catch up, and arm.
                           wake_all_queues();
                           arm_all_if_ready();
                       }});
    };
    if (!ready_channel_.empty()) {
        listen();
        return;
    }
    listen_->send({"", &sql_->channels, {store_.schema()}, {}, [this, listen](PGresult* result, std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const ConnectionError&) {
                           } catch (const std::exception& e) {
                               log(LogLevel::error, "dispatcher " + worker_id_ +
                                                        ": cannot read the notification channels (is schema '" +
                                                        store_.schema() + "' migrated?): " + e.what());
                           }
                           return;
                       }
                       ready_channel_ = pg::value(result, 0, 0);
                       scheduled_channel_ = pg::value(result, 0, 1);
                       listen();
                   }});
}

void Engine::on_notification(PGnotify* notification) {
    std::string_view channel = notification->relname;
    std::string_view payload = notification->extra != nullptr ? notification->extra : "";
    if (channel == ready_channel_) {
        if (auto* queue = find_queue(payload)) {
            publish(NotificationReceived{queue->name});
            wake_queue(*queue);
        }
        return;
    }
    if (channel == scheduled_channel_) {
        // "<milliseconds until due> <queue>"
        auto space = payload.find(' ');
        if (space == std::string_view::npos) return;
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(payload.data(), payload.data() + space, ms);
        if (ec != std::errc()) return;
        if (auto* queue = find_queue(payload.substr(space + 1)))
            arm_due_timer(*queue, std::chrono::milliseconds(std::max<std::int64_t>(0, ms)));
    }
}

}  // namespace seesaw::detail

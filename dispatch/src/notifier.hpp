#pragma once
// The notifier: a connection that LISTENs on the schema's two channels. The
// insert trigger sends a queue's name on the ready channel (once per
// statement per queue, while a dispatcher of the queue is armed) and
// "<milliseconds until due> <queue>" on the scheduled channel when a
// statement inserts jobs that are not due yet; reclaim and retries notify
// the scheduled channel too. The control channel carries "cancel <id> ..."
// (jobs cancelled while running), "pause <queue>" and "resume <queue>".
//
// Loop thread only.

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/job_id.hpp"

#include "statements.hpp"

namespace seesaw::detail {

struct StoreSql;

class Notifier {
public:
    struct Hooks {
        std::function<void(bool listening)> listening;  // LISTEN is in place (after each (re)connect), or lost
        std::function<void(std::string_view queue)> ready;
        std::function<void(std::string_view queue, std::chrono::milliseconds due_in)> scheduled;
        std::function<void(const std::vector<JobId>& ids)> cancelled;
        std::function<void(std::string_view queue, bool paused)> paused;
    };

    Notifier(Statements& database, const StoreSql& sql, std::string schema, std::string worker_id, Hooks hooks);

    // The connection is up: LISTEN. Lost: no more notifications until then.
    void connected();
    void lost();
    void notified(const PGnotify& notification);

private:
    void listen();
    void control(std::string_view payload);

    Statements& database_;
    const StoreSql& sql_;
    const std::string schema_;
    const std::string worker_id_;
    Hooks hooks_;
    std::string ready_channel_;      // read from the schema once
    std::string scheduled_channel_;
    std::string control_channel_;
    std::string listen_ready_sql_;
    std::string listen_scheduled_sql_;
    std::string listen_control_sql_;
};

}  // namespace seesaw::detail

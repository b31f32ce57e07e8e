// seesaw stats [--queue Q] [--json] [--watch SECONDS]
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"

namespace seesaw::cli {
namespace {

struct StatsArgs {
    std::optional<std::string> queue;
    bool json = false;
    std::optional<double> watch_seconds;
};

constexpr JobStatus all_statuses[] = {JobStatus::pending,     JobStatus::running,  JobStatus::succeeded,
                                     JobStatus::failed,      JobStatus::dead_letter, JobStatus::cancelled};

std::int64_t count_in(const QueueStats& counts, JobStatus status) {
    switch (status) {
        case JobStatus::pending: return counts.pending;
        case JobStatus::running: return counts.running;
        case JobStatus::succeeded: return counts.succeeded;
        case JobStatus::failed: return counts.failed;
        case JobStatus::dead_letter: return counts.dead_letter;
        case JobStatus::cancelled: break;
    }
    return counts.cancelled;
}

struct QueueRow {
    QueueStats counts;
    double oldest_pending_age_s = 0;
    bool paused = false;  // no worker starts its jobs (seesaw queues pause)
};

struct Snapshot {
    std::map<std::string, QueueRow> queues;
    QueueRow total;
};

Snapshot take_snapshot(Database& db, const std::optional<std::string>& queue) {
    // Every queue that has jobs or is paused.
    auto queues = db.store().queues();
    auto ages = db.store().oldest_pending_ages(queue ? std::optional<std::string_view>(*queue) : std::nullopt);
    Snapshot snapshot;
    // The queue asked for is shown even when it holds no job.
    if (queue) snapshot.queues[*queue];
    for (const auto& info : queues) {
        if (queue && info.name != *queue) continue;
        auto& row = snapshot.queues[info.name];
        row.counts = info.counts;
        row.paused = info.paused;
    }
    for (const auto& [name, age] : ages)
        snapshot.queues[name].oldest_pending_age_s = std::chrono::duration<double>(age).count();
    for (const auto& [name, row] : snapshot.queues) {
        for (auto status : all_statuses) snapshot.total.counts[status] += count_in(row.counts, status);
        snapshot.total.oldest_pending_age_s = std::max(snapshot.total.oldest_pending_age_s, row.oldest_pending_age_s);
    }
    return snapshot;
}

// `paused` only for a queue, not for the total.
void write_row(JsonWriter& json, const QueueRow& row, bool with_paused) {
    json.StartObject();
    if (with_paused) {
        write_key(json, "paused");
        json.Bool(row.paused);
    }
    for (auto status : all_statuses) {
        write_key(json, to_string(status));
        json.Int64(count_in(row.counts, status));
    }
    write_key(json, "oldest_pending_age_s");
    json.Double(row.oldest_pending_age_s);
    json.EndObject();
}

void print_json(const Snapshot& snapshot) {
    JsonDocument doc;
    auto& json = doc.writer();
    json.StartObject();
    write_key(json, "queues");
    json.StartObject();
    for (const auto& [name, row] : snapshot.queues) {
        write_key(json, name);
        write_row(json, row, true);
    }
    json.EndObject();
    write_key(json, "total");
    write_row(json, snapshot.total, false);
    json.EndObject();
    doc.print(std::cout);
}

void print_table(const Snapshot& snapshot) {
    Table table({{"QUEUE"},
                 {"PAUSED"},
                 {"PENDING", Align::right},
                 {"RUNNING", Align::right},
                 {"SUCCEEDED", Align::right},
                 {"FAILED", Align::right},
                 {"DEAD_LETTER", Align::right},
                 {"CANCELLED", Align::right},
                 {"OLDEST_PENDING", Align::right}});
    auto add = [&](const std::string& name, const std::string& paused, const QueueRow& row) {
        const auto& c = row.counts;
        table.add_row({name, paused, std::to_string(c.pending), std::to_string(c.running),
                       std::to_string(c.succeeded), std::to_string(c.failed), std::to_string(c.dead_letter),
                       std::to_string(c.cancelled), format_age(row.oldest_pending_age_s)});
    };
    for (const auto& [name, row] : snapshot.queues) add(name, row.paused ? "yes" : "no", row);
    add("TOTAL", "-", snapshot.total);
    table.print(std::cout);
}

void print_snapshot(const Snapshot& snapshot, bool json) {
    if (json)
        print_json(snapshot);
    else
        print_table(snapshot);
}

// Redraws every `seconds` until SIGINT or SIGTERM; exits 0 then. JSON: one
// document per line. Not a terminal: frames one after another.
void watch(Database& db, const StatsArgs& args, double seconds) {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    // Blocked, the signals wait for sigtimedwait instead of killing us.
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    const bool terminal = isatty(STDOUT_FILENO) != 0;
    const auto whole = std::floor(seconds);
    timespec interval{static_cast<std::time_t>(whole), static_cast<long>((seconds - whole) * 1e9)};
    for (bool first = true;; first = false) {
        auto snapshot = take_snapshot(db, args.queue);
        if (!args.json) {
            if (terminal)
                std::cout << "\033[H\033[2J";
            else if (!first)
                std::cout << '\n';
            auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
            std::cout << "every " << seconds << "s, " << format_time_short(now) << " UTC"
                      << (terminal ? " (Ctrl-C to stop)" : "") << "\n\n";
        }
        print_snapshot(snapshot, args.json);
        std::cout.flush();
        int signal = sigtimedwait(&stop, nullptr, &interval);
        if (signal == SIGINT || signal == SIGTERM) return;
    }
}

void run_stats(const ConnectionOptions& connection, const StatsArgs& args) {
    if (args.queue && args.queue->empty()) throw UserError("--queue must not be empty");
    if (args.watch_seconds && !(*args.watch_seconds > 0 && *args.watch_seconds <= 86400))
        throw UserError("--watch takes a number of seconds greater than 0 (and at most 86400), got " +
                        std::to_string(*args.watch_seconds));
    Database db(connection);
    if (args.watch_seconds) return watch(db, args, *args.watch_seconds);
    print_snapshot(take_snapshot(db, args.queue), args.json);
}

}  // namespace

void add_stats_command(CLI::App& parent, CommandContext context) {
    auto args = std::make_shared<StatsArgs>();
    auto* cmd = parent.add_subcommand(
        "stats", "Job counts per queue and state, whether each queue is paused, and the age of the oldest due "
                 "pending job of each queue");
    cmd->add_option_function<std::string>(
           "--queue", [args](const std::string& q) { args->queue = q; }, "Only this queue")
        ->type_name("Q");
    cmd->add_flag("--json", args->json, "Print one JSON document");
    cmd->add_option_function<double>(
           "--watch", [args](const double& s) { args->watch_seconds = s; },
           "Redraw every SECONDS until interrupted (with --json: one document per line)")
        ->type_name("SECONDS");
    add_connection_options(*cmd, context.connection);
    cmd->callback([args, context] {
        context.action = [args, &connection = context.connection] { run_stats(connection, *args); };
    });
}

}  // namespace seesaw::cli

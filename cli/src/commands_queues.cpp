// seesaw queues list [--json]
// seesaw queues pause QUEUE
// seesaw queues resume QUEUE
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/limits.hpp"

namespace seesaw::cli {
namespace {

// Checked before the database is touched: empty, too long, NUL, not UTF-8.
void check_queue_name(const std::string& name) {
    try {
        validate_queue_name(name, "the queue name");
    } catch (const UsageError& e) {
        throw UserError(e.what());
    }
}

void run_list(const ConnectionOptions& connection, bool json_output) {
    Database db(connection);
    const auto queues = db.store().queues();
    if (json_output) {
        JsonDocument doc;
        auto& json = doc.writer();
        json.StartObject();
        write_key(json, "queues");
        json.StartArray();
        for (const auto& queue : queues) {
            json.StartObject();
            write_key(json, "name");
            write_string(json, queue.name);
            write_key(json, "paused");
            json.Bool(queue.paused);
            write_key(json, "paused_at");
            write_optional_string(json, queue.paused_at ? std::optional(format_time(*queue.paused_at)) : std::nullopt);
            write_key(json, "counts");
            write_counts(json, queue.counts);
            json.EndObject();
        }
        json.EndArray();
        json.EndObject();
        doc.print(std::cout);
        return;
    }
    Table table({{"QUEUE"},
                 {"PAUSED"},
                 {"PAUSED_SINCE"},
                 {"PENDING", Align::right},
                 {"RUNNING", Align::right},
                 {"SUCCEEDED", Align::right},
                 {"FAILED", Align::right},
                 {"DEAD_LETTER", Align::right},
                 {"CANCELLED", Align::right}});
    std::size_t paused = 0;
    for (const auto& queue : queues) {
        const auto& c = queue.counts;
        paused += queue.paused ? 1 : 0;
        table.add_row({queue.name, queue.paused ? "yes" : "no",
                       queue.paused_at ? format_time_short(*queue.paused_at) : "-", std::to_string(c.pending),
                       std::to_string(c.running), std::to_string(c.succeeded), std::to_string(c.failed),
                       std::to_string(c.dead_letter), std::to_string(c.cancelled)});
    }
    table.print(std::cout);
    std::cout << count_of(queues.size(), "queue") << ", " << paused << " paused\n";
}

// Pauses (or resumes) a queue and says whether that changed anything.
void run_pause(const ConnectionOptions& connection, const std::string& queue, bool pause) {
    check_queue_name(queue);
    Database db(connection);
    const bool changed = pause ? db.store().pause_queue(queue) : db.store().resume_queue(queue);
    std::cout << "queue '" << queue << "' "
              << (pause ? (changed ? "paused" : "was already paused") : (changed ? "resumed" : "was not paused"))
              << '\n';
}

}  // namespace

void add_queues_command(CLI::App& parent, CommandContext context) {
    auto* queues = parent.add_subcommand("queues", "List queues, or pause and resume one");
    queues->require_subcommand(1);
    add_connection_options(*queues, context.connection);

    auto list_json = std::make_shared<bool>(false);
    auto* list = queues->add_subcommand(
        "list", "List every queue that has jobs or is paused: whether it is paused (and since when), and its job "
                "counts per state");
    list->add_flag("--json", *list_json,
                   "Print one JSON document: {\"queues\": [{\"name\", \"paused\", \"paused_at\", \"counts\"}, ...]}");
    add_connection_options(*list, context.connection);
    list->callback([list_json, context] {
        context.action = [list_json, &connection = context.connection] { run_list(connection, *list_json); };
    });

    auto pause_queue = std::make_shared<std::string>();
    auto* pause = queues->add_subcommand(
        "pause", "Pause a queue: no worker, in any process, starts its jobs until it is resumed. Enqueues go on; "
                 "running jobs finish. A queue with no jobs yet may be paused too");
    pause->add_option("QUEUE", *pause_queue, "The queue name")->required();
    add_connection_options(*pause, context.connection);
    pause->callback([pause_queue, context] {
        context.action = [pause_queue, &connection = context.connection] { run_pause(connection, *pause_queue, true); };
    });

    auto resume_queue = std::make_shared<std::string>();
    auto* resume = queues->add_subcommand("resume", "Resume a paused queue: workers start its jobs again");
    resume->add_option("QUEUE", *resume_queue, "The queue name")->required();
    add_connection_options(*resume, context.connection);
    resume->callback([resume_queue, context] {
        context.action = [resume_queue, &connection = context.connection] { run_pause(connection, *resume_queue, false); };
    });
}

}  // namespace seesaw::cli

// seesaw periodic list [--json]
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"

namespace seesaw::cli {
namespace {

std::optional<std::string> time_text(const std::optional<Timestamp>& t) {
    return t ? std::optional(format_time(*t)) : std::nullopt;
}

void run_list(const ConnectionOptions& connection, bool json_output) {
    Database db(connection);
    const auto schedules = db.store().periodic_schedules();
    if (json_output) {
        JsonDocument doc;
        auto& json = doc.writer();
        json.StartArray();
        for (const auto& s : schedules) {
            json.StartObject();
            write_key(json, "name");
            write_string(json, s.name);
            write_key(json, "expression");
            write_string(json, s.expression);
            write_key(json, "job_type");
            write_string(json, s.job_type);
            write_key(json, "queue");
            write_string(json, s.queue);
            write_key(json, "last_slot");
            write_optional_string(json, time_text(s.last_slot));
            write_key(json, "next_slot");
            write_optional_string(json, time_text(s.next_slot));
            write_key(json, "leader");
            write_string(json, s.worker_id);
            write_key(json, "updated_at");
            write_string(json, format_time(s.updated_at));
            json.EndObject();
        }
        json.EndArray();
        doc.print(std::cout);
        return;
    }
    Table table({{"NAME"}, {"EXPRESSION"}, {"JOB_TYPE"}, {"QUEUE"}, {"LAST_SLOT"}, {"NEXT_SLOT"}, {"LEADER"}});
    for (const auto& s : schedules) {
        table.add_row({s.name, s.expression, s.job_type, s.queue,
                       s.last_slot ? format_time_short(*s.last_slot) : "-",
                       s.next_slot ? format_time_short(*s.next_slot) : "-", s.worker_id});
    }
    table.print(std::cout);
    std::cout << count_of(schedules.size(), "schedule") << '\n';
}

}  // namespace

void add_periodic_command(CLI::App& parent, CommandContext context) {
    auto* periodic = parent.add_subcommand("periodic", "Periodic schedules, as the maintenance leader recorded them");
    periodic->require_subcommand(1);
    add_connection_options(*periodic, context.connection);

    auto json = std::make_shared<bool>(false);
    auto* list = periodic->add_subcommand(
        "list", "List every periodic schedule a dispatcher registered (Dispatcher::every): its expression, job "
                "type, queue, the last slot inserted and the next one, and the leader that recorded it");
    list->add_flag("--json", *json,
                   "Print a JSON array: [{\"name\", \"expression\", \"job_type\", \"queue\", \"last_slot\", "
                   "\"next_slot\", \"leader\", \"updated_at\"}, ...]");
    add_connection_options(*list, context.connection);
    list->callback([json, context] {
        context.action = [json, &connection = context.connection] { run_list(connection, *json); };
    });
}

}  // namespace seesaw::cli

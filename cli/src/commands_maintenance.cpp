// seesaw cleanup --older-than 7d [--status succeeded|dead_letter|cancelled]
// seesaw reclaim
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "parse.hpp"

namespace seesaw::cli {
namespace {

struct CleanupArgs {
    std::string older_than;
    std::string status = "succeeded";
};

void run_cleanup(const ConnectionOptions& connection, const CleanupArgs& args) {
    const auto age = parse_duration(args.older_than, "--older-than");
    const auto status = parse_status(args.status, "--status");
    if (status != JobStatus::succeeded && status != JobStatus::dead_letter && status != JobStatus::cancelled) {
        throw UserError("cleanup deletes finished jobs only (succeeded, dead_letter or cancelled), not " +
                        args.status + " (use --status succeeded, dead_letter or cancelled)");
    }
    Database db(connection);
    auto n = db.store().cleanup(status, age);
    std::cout << "deleted " << count_of(n, std::string(to_string(status)) + " job") << " last updated more than "
              << format_duration(age.count()) << " ago\n";
}

void run_reclaim(const ConnectionOptions& connection) {
    Database db(connection);
    auto n = db.store().reclaim_expired();
    std::cout << "reclaimed " << count_of(n, "job") << " whose lease expired\n";
}

}  // namespace

void add_cleanup_command(CLI::App& parent, CommandContext context) {
    auto args = std::make_shared<CleanupArgs>();
    auto* cmd = parent.add_subcommand("cleanup", "Delete finished jobs last updated longer ago than a duration");
    cmd->add_option("--older-than", args->older_than, "Age: a whole number and s, m, h or d (e.g. 7d)")
        ->type_name("DURATION")
        ->required();
    cmd->add_option("--status", args->status, "succeeded, dead_letter or cancelled")->type_name("S")->capture_default_str();
    add_connection_options(*cmd, context.connection);
    cmd->callback([args, context] {
        context.action = [args, &connection = context.connection] { run_cleanup(connection, *args); };
    });
}

void add_reclaim_command(CLI::App& parent, CommandContext context) {
    auto* cmd = parent.add_subcommand(
        "reclaim", "Reclaim running jobs whose lease expired: retried after backoff, or dead-lettered when out of "
                   "attempts; a job whose handler had not started goes back to pending, not counted");
    add_connection_options(*cmd, context.connection);
    cmd->callback([context] {
        context.action = [&connection = context.connection] { run_reclaim(connection); };
    });
}

}  // namespace seesaw::cli

#pragma once
// The commands of the `seesaw` tool. Each add_*_command registers its
// subcommand (options, --help text) on the parent; when the user picks it,
// its callback stores what to run in `action`, and main() runs that after
// parsing, so that no database work happens inside the argument parser.
//
// Exit status: 0 success; 1 a failure the user can fix (thrown as
// seesaw::Error or cli::UserError, message on stderr); 2 a usage error
// (CLI::ParseError from CLI11 or from a command's own checks).

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>

namespace seesaw::cli {

// A failure the user can fix: a bad value, an unknown id. Exit status 1.
class UserError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// --database-url and --schema, shared by every command.
struct ConnectionOptions {
    std::string database_url;
    bool database_url_given = false;
    std::string schema = "seesaw";

    // --database-url, else $SEESAW_DATABASE_URL, else "" (libpq reads its PG* variables).
    std::string conninfo() const;
};

using Action = std::function<void()>;

struct CommandContext {
    ConnectionOptions& connection;
    Action& action;
};

// Adds --database-url and --schema to a command (root and every leaf, so
// that they may come before or after the command name and show in --help).
void add_connection_options(CLI::App& app, ConnectionOptions& options);

void add_migrate_command(CLI::App& parent, CommandContext context);
void add_enqueue_command(CLI::App& parent, CommandContext context);
void add_stats_command(CLI::App& parent, CommandContext context);
void add_jobs_command(CLI::App& parent, CommandContext context);
void add_queues_command(CLI::App& parent, CommandContext context);
void add_periodic_command(CLI::App& parent, CommandContext context);
void add_dead_letter_command(CLI::App& parent, CommandContext context);
void add_cleanup_command(CLI::App& parent, CommandContext context);
void add_reclaim_command(CLI::App& parent, CommandContext context);
void add_web_command(CLI::App& parent, CommandContext context);

}  // namespace seesaw::cli

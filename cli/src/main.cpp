// seesaw: the operator's tool for a seesaw job queue. See docs/cli.md.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.hpp"
#include "seesaw/core/error.hpp"

namespace {

constexpr const char* exit_status_help =
    "Exit status: 0 success; 1 a failure you can fix (bad URL, unknown status, invalid JSON, unknown job id, ...),\n"
    "with the reason on stderr; 2 a usage error (unknown command or option, missing argument).\n"
    "No command writes anything when its input is invalid.";

// "seesaw frob" reaches CLI11 as a missing subcommand plus a stray argument:
// name the command instead.
std::string unknown_command(const CLI::App& root) {
    const CLI::App* at = &root;
    std::string path = root.get_name();
    while (true) {
        auto chosen = at->get_subcommands();
        if (chosen.empty()) break;
        at = chosen.front();
        path += " " + at->get_name();
    }
    if (at->get_require_subcommand_min() == 0) return "";
    auto rest = at->remaining();
    if (rest.empty() || rest.front().starts_with("-")) return "";
    return "unknown command '" + rest.front() + "' for '" + path + "'";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace seesaw::cli;
    std::ios::sync_with_stdio(false);

    CLI::App app{"seesaw: migrate, inspect and maintain a seesaw job queue on PostgreSQL.", "seesaw"};
    app.set_version_flag("--version", std::string("seesaw ") + SEESAW_VERSION);
    app.require_subcommand(1);
    app.footer(exit_status_help);

    ConnectionOptions connection;
    Action action;
    add_connection_options(app, connection);
    CommandContext context{connection, action};
    add_migrate_command(app, context);
    add_enqueue_command(app, context);
    add_stats_command(app, context);
    add_jobs_command(app, context);
    add_queues_command(app, context);
    add_periodic_command(app, context);
    add_dead_letter_command(app, context);
    add_cleanup_command(app, context);
    add_reclaim_command(app, context);
    add_web_command(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
        if (auto message = unknown_command(app); !message.empty()) {
            std::cerr << "seesaw: " << message << "\nRun with --help for the list of commands.\n";
            return 2;
        }
        app.exit(e);
        return 2;
    }

    try {
        if (action) action();
        std::cout.flush();
        return 0;
    } catch (const CLI::ParseError& e) {
        // A command's own check of how its options combine.
        std::cout.flush();
        std::cerr << "seesaw: " << e.what() << "\nRun with --help for more information.\n";
        return 2;
    } catch (const seesaw::SqlError& e) {
        std::cout.flush();
        std::cerr << "seesaw: " << e.what() << '\n';
        // 42P01 undefined table, 3F000 no such schema, 42883 undefined function.
        if (e.sqlstate() == "42P01" || e.sqlstate() == "3F000" || e.sqlstate() == "42883") {
            std::cerr << "hint: is schema '" << connection.schema << "' migrated? Run: seesaw migrate --schema "
                      << connection.schema << '\n';
        }
        return 1;
    } catch (const std::exception& e) {
        // seesaw::Error (connection, payload, usage) and UserError: fixable by the user.
        std::cout.flush();
        std::cerr << "seesaw: " << e.what() << '\n';
        return 1;
    }
}

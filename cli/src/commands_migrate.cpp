// seesaw migrate [--dry-run] [--status]
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "seesaw/migrations/migrate.hpp"

namespace seesaw::cli {
namespace {

struct MigrateOptions {
    bool dry_run = false;
    bool status = false;
};

std::string migration_name(int version, const std::string& name) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", version);
    return std::string(buf) + "_" + name;
}

void print_status(Database& db) {
    auto conn = db.pool().acquire();
    auto all = migration_status(*conn, db.schema());
    Table table({{"VERSION", Align::right}, {"NAME"}, {"STATUS"}, {"APPLIED_AT"}});
    std::size_t applied = 0, known = 0, unknown = 0;
    for (const auto& m : all) {
        const char* status = !m.known ? "applied by a newer seesaw" : m.applied ? "applied" : "pending";
        table.add_row({std::to_string(m.version), m.name, status, m.applied ? m.applied_at : "-"});
        if (!m.known) {
            ++unknown;
            continue;
        }
        ++known;
        if (m.applied) ++applied;
    }
    table.print(std::cout);
    std::cout << "schema \"" << db.schema() << "\": " << applied << " of " << count_of(known, "migration")
              << " applied, " << (known - applied) << " pending\n";
    if (unknown > 0) {
        throw UserError("schema \"" + db.schema() + "\" has " + count_of(unknown, "migration") +
                        " this seesaw does not know: a newer seesaw migrated it; upgrade seesaw");
    }
}

void run_migrate(const ConnectionOptions& connection, const MigrateOptions& options) {
    Database db(connection);
    if (options.status) return print_status(db);
    auto result = migrate(db.pool(), db.schema(), options.dry_run);
    for (const auto& m : result.applied)
        std::cout << (options.dry_run ? "would apply " : "applied ") << migration_name(m.version, m.name) << '\n';
    if (result.applied.empty()) {
        std::cout << "schema \"" << db.schema() << "\" is up to date at version " << result.version << '\n';
    } else if (options.dry_run) {
        std::cout << "dry run: " << count_of(result.applied.size(), "migration") << " pending for schema \""
                  << db.schema() << "\"; nothing was changed\n";
    } else {
        std::cout << "schema \"" << db.schema() << "\" is now at version " << result.version << '\n';
    }
}

}  // namespace

void add_migrate_command(CLI::App& parent, CommandContext context) {
    auto options = std::make_shared<MigrateOptions>();
    auto* cmd = parent.add_subcommand("migrate", "Apply the pending migrations to the schema (creating it), print what ran");
    auto* dry_run = cmd->add_flag("--dry-run", options->dry_run, "Print what would run; change nothing");
    cmd->add_flag("--status", options->status, "List every migration, applied or pending; change nothing")
        ->excludes(dry_run);
    add_connection_options(*cmd, context.connection);
    cmd->callback([options, context] {
        context.action = [options, &connection = context.connection] { run_migrate(connection, *options); };
    });
}

}  // namespace seesaw::cli

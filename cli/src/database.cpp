#include "database.hpp"

#include <cstdlib>

namespace seesaw::cli {
namespace {

PgPool open_pool(const ConnectionOptions& options) {
    if (options.schema.empty()) throw UserError("--schema must not be empty");
    // Names the tool in pg_stat_activity unless the user chose a name.
    ::setenv("PGAPPNAME", "seesaw-cli", 0);
    return PgPool(options.conninfo(), PgPoolOptions{.max_connections = 2});
}

}  // namespace

Database::Database(const ConnectionOptions& options)
    // One command runs a statement or two: preparing them gains nothing, and
    // without prepared statements every command works through a pooler in
    // transaction mode (PgBouncer).
    : pool_(open_pool(options)), store_(pool_, PgJobStoreOptions{.schema = options.schema, .prepared_statements = false}) {}

}  // namespace seesaw::cli

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
    : pool_(open_pool(options)), store_(pool_, PgJobStoreOptions{.schema = options.schema}) {}

}  // namespace seesaw::cli

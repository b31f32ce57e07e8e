#include <cstdlib>

#include "commands.hpp"

namespace seesaw::cli {

std::string ConnectionOptions::conninfo() const {
    if (database_url_given) return database_url;
    if (const char* url = std::getenv("SEESAW_DATABASE_URL")) return url;
    return "";  // libpq falls back to PGHOST, PGPORT, PGUSER, PGDATABASE, ...
}

void add_connection_options(CLI::App& app, ConnectionOptions& options) {
    // No envname(): an option given before the command must not be
    // overwritten by the environment when the command's copy is not given.
    app.add_option_function<std::string>(
           "--database-url",
           [&options](const std::string& url) {
               options.database_url = url;
               options.database_url_given = true;
           },
           "PostgreSQL URL or key=value conninfo (default: $SEESAW_DATABASE_URL, else libpq's PG* variables)")
        ->type_name("URL")
        ->group("Connection");
    app.add_option("--schema", options.schema, "Schema holding the jobs table")
        ->type_name("NAME")
        ->capture_default_str()
        ->group("Connection");
}

}  // namespace seesaw::cli

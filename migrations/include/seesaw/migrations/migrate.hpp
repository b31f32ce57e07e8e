#pragma once
// The migrator: applies the SQL files of migrations/ (embedded in the
// library) to one schema, records each applied version in
// <schema>.seesaw_migrations, and serializes concurrent migrators of the same
// schema with an advisory lock. Running it again applies nothing.

#include <string>
#include <string_view>
#include <vector>

#include "seesaw/store/connection.hpp"
#include "seesaw/store/pg_job_store.hpp"
#include "seesaw/store/pg_pool.hpp"

namespace seesaw {

struct MigrationInfo {
    int version = 0;
    std::string name;
    bool applied = false;
    std::string applied_at;  // ISO 8601, empty when pending
};

struct MigrateResult {
    std::vector<MigrationInfo> applied;  // what this call applied, in order
    int version = 0;                     // the schema's version afterwards
};

// Every migration the library carries, in order, with the SQL text.
struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};
std::vector<Migration> migrations();

// Applies the pending migrations to `schema` (created if missing). Each
// migration runs in its own transaction. dry_run: reports what would run and
// changes nothing.
MigrateResult migrate(Connection& connection, std::string_view schema = default_schema, bool dry_run = false);
MigrateResult migrate(PgPool& pool, std::string_view schema = default_schema, bool dry_run = false);

// Every migration, applied or pending, for `schema`.
std::vector<MigrationInfo> migration_status(Connection& connection, std::string_view schema = default_schema);

}  // namespace seesaw

#pragma once
// The migrator: applies the SQL files of migrations/ (embedded in the
// library) to one schema, records each applied version in
// <schema>.seesaw_migrations, and serializes concurrent migrators of the same
// schema with an advisory lock. Running it again applies nothing.

#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/error.hpp"

#include "seesaw/store/connection.hpp"
#include "seesaw/store/pg_job_store.hpp"
#include "seesaw/store/pg_pool.hpp"

namespace seesaw {

struct MigrationInfo {
    int version = 0;
    std::string name;
    bool applied = false;
    std::string applied_at;  // ISO 8601, empty when pending
    // false: applied by a newer seesaw; this build does not know it.
    bool known = true;
};

// migrate() on a schema that a newer seesaw migrated: this build does not
// know what those migrations did, so it changes nothing.
class NewerSchemaError : public UsageError {
public:
    NewerSchemaError(const std::string& schema, std::vector<int> versions);
    const std::vector<int>& versions() const noexcept { return versions_; }

private:
    std::vector<int> versions_;
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

// Applies the pending migrations to `schema` (created if missing), all in
// one transaction: on failure the schema is left as it was. Any valid
// identifier is a valid schema name; it reaches SQL only quoted or as a
// parameter. Throws NewerSchemaError when the schema has versions this build
// does not know. dry_run: reports what would run and changes nothing.
MigrateResult migrate(Connection& connection, std::string_view schema = default_schema, bool dry_run = false);
MigrateResult migrate(PgPool& pool, std::string_view schema = default_schema, bool dry_run = false);
// Applies the pending migrations up to `version` only (for staged upgrades,
// and for tests of an upgrade from an older schema).
MigrateResult migrate_to(Connection& connection, std::string_view schema, int version);

// Every migration, applied or pending, for `schema`, then any version a
// newer seesaw applied (known = false).
std::vector<MigrationInfo> migration_status(Connection& connection, std::string_view schema = default_schema);

}  // namespace seesaw

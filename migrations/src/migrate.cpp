#include "seesaw/migrations/migrate.hpp"

#include <map>

#include "embedded_migrations.hpp"
#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

void check_schema_name(std::string_view schema) {
    if (schema.empty()) throw UsageError("schema name must not be empty");
    if (schema.find('\0') != std::string_view::npos) throw UsageError("schema name must not contain a NUL byte");
    if (schema.size() > 63) {
        throw UsageError("schema name '" + std::string(schema) + "' is longer than PostgreSQL's 63 bytes");
    }
}

struct AppliedMigration {
    std::string name;
    std::string applied_at;
};

// version → what the schema's bookkeeping table says; empty when the table
// does not exist.
std::map<int, AppliedMigration> applied_versions(Connection& conn, std::string_view schema) {
    std::map<int, AppliedMigration> out;
    auto exists = conn.execute("SELECT to_regclass($1) IS NOT NULL",
                               {quote_identifier(schema) + ".seesaw_migrations"});
    if (exists.get(0, 0) != "t") return out;
    auto rows = conn.execute("SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM " +
                             quote_identifier(schema) + ".seesaw_migrations ORDER BY version");
    for (std::size_t i = 0; i < rows.rows(); ++i)
        out[static_cast<int>(rows.get_int64(i, 0))] = {std::string(rows.get(i, 1)), std::string(rows.get(i, 2))};
    return out;
}

int latest_known_version() { return detail::embedded_migrations().back().version; }

// Versions a newer seesaw applied: this build does not know what they did.
std::vector<int> unknown_versions(const std::map<int, AppliedMigration>& applied) {
    std::vector<int> out;
    for (const auto& [version, info] : applied)
        if (version > latest_known_version()) out.push_back(version);
    return out;
}

}  // namespace

std::vector<Migration> migrations() {
    std::vector<Migration> out;
    for (const auto& m : detail::embedded_migrations()) out.push_back({m.version, m.name, m.sql});
    return out;
}

std::vector<MigrationInfo> migration_status(Connection& conn, std::string_view schema) {
    check_schema_name(schema);
    auto applied = applied_versions(conn, schema);
    std::vector<MigrationInfo> out;
    for (const auto& m : detail::embedded_migrations()) {
        auto it = applied.find(m.version);
        out.push_back({m.version, std::string(m.name), it != applied.end(),
                       it != applied.end() ? it->second.applied_at : "", true});
    }
    for (int version : unknown_versions(applied)) {
        const auto& info = applied.at(version);
        out.push_back({version, info.name, true, info.applied_at, false});
    }
    return out;
}

NewerSchemaError::NewerSchemaError(const std::string& schema, std::vector<int> versions)
    : UsageError([&] {
          std::string list;
          for (int v : versions) list += (list.empty() ? "" : ", ") + std::to_string(v);
          return "schema " + quote_identifier(schema) + " has migration" + (versions.size() > 1 ? "s " : " ") + list +
                 ", which this seesaw does not know (it knows 1 to " + std::to_string(latest_known_version()) +
                 "): a newer seesaw migrated it. Upgrade seesaw; nothing was changed";
      }()),
      versions_(std::move(versions)) {}

namespace {

MigrateResult apply(Connection& conn, std::string_view schema, bool dry_run, int target) {
    check_schema_name(schema);
    if (conn.in_transaction()) throw UsageError("migrate: the connection must not be inside a transaction");
    const std::string quoted = quote_identifier(schema);

    // All pending migrations in one transaction: a failure leaves the schema
    // as it was, never half-migrated. The transaction-scoped lock makes
    // concurrent migrators of one schema take turns.
    Transaction tx(conn);
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('seesaw.migrate.' || $1, 0))", {Param(schema)});
    auto applied = applied_versions(conn, schema);
    if (auto unknown = unknown_versions(applied); !unknown.empty()) throw NewerSchemaError(std::string(schema), unknown);

    MigrateResult result;
    bool prepared = false;
    for (const auto& m : detail::embedded_migrations()) {
        if (applied.contains(m.version)) {
            result.version = m.version;
            continue;
        }
        if (m.version > target) break;
        if (!dry_run) {
            if (!prepared) {
                conn.execute("CREATE SCHEMA IF NOT EXISTS " + quoted);
                conn.execute("CREATE TABLE IF NOT EXISTS " + quoted +
                             ".seesaw_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                             " applied_at timestamptz NOT NULL DEFAULT now())");
                // Unqualified names in the migrations' DDL land in the schema,
                // and functions declared SET search_path FROM CURRENT keep it.
                conn.execute("SELECT set_config('search_path', $1, true)", {Param(quoted + ", pg_temp")});
                prepared = true;
            }
            try {
                conn.execute(m.sql);
            } catch (const SqlError& e) {
                throw SqlError("migration " + std::to_string(m.version) + "_" + std::string(m.name) +
                                   " failed on schema " + quoted + " (nothing was changed): " + e.what(),
                               e.sqlstate(), e.query());
            }
            conn.execute("INSERT INTO " + quoted + ".seesaw_migrations (version, name) VALUES ($1::int4, $2)",
                         {std::to_string(m.version), m.name});
        }
        result.applied.push_back({m.version, std::string(m.name), !dry_run, "", true});
        result.version = m.version;
    }
    tx.commit();
    return result;
}

}  // namespace

MigrateResult migrate(Connection& conn, std::string_view schema, bool dry_run) {
    return apply(conn, schema, dry_run, latest_known_version());
}

MigrateResult migrate_to(Connection& conn, std::string_view schema, int version) {
    if (version < 1 || version > latest_known_version()) {
        throw UsageError("migrate_to: version must be between 1 and " + std::to_string(latest_known_version()) +
                         ", got " + std::to_string(version));
    }
    return apply(conn, schema, false, version);
}

MigrateResult migrate(PgPool& pool, std::string_view schema, bool dry_run) {
    auto conn = pool.acquire();
    return migrate(*conn, schema, dry_run);
}

}  // namespace seesaw

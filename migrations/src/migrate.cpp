#include "seesaw/migrations/migrate.hpp"

#include <map>

#include "embedded_migrations.hpp"
#include "seesaw/core/error.hpp"

namespace seesaw {
namespace {

std::string literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

// Migrations name the schema as @schema@ where a name must be qualified
// (inside function bodies, which run with the caller's search_path).
std::string with_schema(std::string_view sql, const std::string& quoted_schema) {
    static constexpr std::string_view token = "@schema@";
    std::string out;
    out.reserve(sql.size());
    std::size_t at = 0;
    while (true) {
        auto found = sql.find(token, at);
        out.append(sql.substr(at, found - at));
        if (found == std::string_view::npos) return out;
        out.append(quoted_schema);
        at = found + token.size();
    }
}

void check_schema_name(std::string_view schema) {
    if (schema.empty()) throw UsageError("schema name must not be empty");
    if (schema.size() > 63) {
        throw UsageError("schema name '" + std::string(schema) + "' is longer than PostgreSQL's 63 bytes");
    }
}

// version → applied_at, or nothing when the bookkeeping table does not exist.
std::map<int, std::string> applied_versions(Connection& conn, std::string_view schema) {
    std::map<int, std::string> out;
    auto exists = conn.execute("SELECT to_regclass($1) IS NOT NULL",
                               {quote_identifier(schema) + ".seesaw_migrations"});
    if (exists.get(0, 0) != "t") return out;
    auto rows = conn.execute("SELECT version, to_char(applied_at AT TIME ZONE 'UTC', "
                             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM " +
                             quote_identifier(schema) + ".seesaw_migrations ORDER BY version");
    for (std::size_t i = 0; i < rows.rows(); ++i)
        out[static_cast<int>(rows.get_int64(i, 0))] = std::string(rows.get(i, 1));
    return out;
}

// Holds the schema's migration lock for the lifetime of the object.
class MigrationLock {
public:
    MigrationLock(Connection& conn, std::string_view schema) : conn_(conn), key_(literal("seesaw.migrate." + std::string(schema))) {
        conn_.execute("SELECT pg_advisory_lock(hashtextextended(" + key_ + ", 0))");
    }
    ~MigrationLock() {
        try {
            conn_.execute("SELECT pg_advisory_unlock(hashtextextended(" + key_ + ", 0))");
        } catch (...) {
            // The connection broke; the server released the session lock with it.
        }
    }
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;

private:
    Connection& conn_;
    std::string key_;
};

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
        out.push_back({m.version, std::string(m.name), it != applied.end(), it != applied.end() ? it->second : ""});
    }
    return out;
}

MigrateResult migrate(Connection& conn, std::string_view schema, bool dry_run) {
    check_schema_name(schema);
    if (conn.in_transaction()) throw UsageError("migrate: the connection must not be inside a transaction");
    const std::string quoted = quote_identifier(schema);
    MigrationLock lock(conn, schema);  // one migrator per schema at a time

    auto applied = applied_versions(conn, schema);
    MigrateResult result;
    for (const auto& m : detail::embedded_migrations()) {
        if (applied.contains(m.version)) {
            result.version = m.version;
            continue;
        }
        if (!dry_run) {
            Transaction tx(conn);
            conn.execute("CREATE SCHEMA IF NOT EXISTS " + quoted);
            conn.execute("CREATE TABLE IF NOT EXISTS " + quoted +
                         ".seesaw_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT now())");
            // Unqualified names in the migration's DDL land in the schema.
            conn.execute("SET LOCAL search_path TO " + quoted);
            try {
                conn.execute(with_schema(m.sql, quoted));
            } catch (const SqlError& e) {
                throw SqlError("migration " + std::to_string(m.version) + "_" + std::string(m.name) +
                                   " failed on schema " + quoted + ": " + e.what(),
                               e.sqlstate(), e.query());
            }
            conn.execute("INSERT INTO " + quoted + ".seesaw_migrations (version, name) VALUES ($1::int4, $2)",
                         {std::to_string(m.version), m.name});
            tx.commit();
        }
        result.applied.push_back({m.version, std::string(m.name), !dry_run, ""});
        result.version = m.version;
    }
    return result;
}

MigrateResult migrate(PgPool& pool, std::string_view schema, bool dry_run) {
    auto conn = pool.acquire();
    return migrate(*conn, schema, dry_run);
}

}  // namespace seesaw

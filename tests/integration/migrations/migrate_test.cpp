#include <atomic>
#include <map>
#include <thread>

#include "../store/store_test_support.hpp"

namespace seesaw::test {
namespace {

class SeedSchema : public StoreTest {};

struct ColumnShape {
    std::string type;  // format_type(): the type as written in DDL
    bool not_null;
    std::string default_value;  // pg_get_expr of the default, "" for none
};

std::map<std::string, ColumnShape> columns_of(QueryResult rows) {
    std::map<std::string, ColumnShape> out;
    for (std::size_t i = 0; i < rows.rows(); ++i)
        out[std::string(rows.get(i, 0))] = {std::string(rows.get(i, 1)), rows.get(i, 2) == "t",
                                            std::string(rows.get_optional(i, 3).value_or(""))};
    return out;
}

TEST_F(SeedSchema, JobsTableHasEverySeedColumnWithItsType) {
    // Unqualified enum names: the fixture's sql() runs with search_path = the schema.
    auto columns = columns_of(sql(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = 'jobs'::regclass AND a.attnum > 0 AND NOT a.attisdropped"));
    const std::map<std::string, std::pair<std::string, bool>> seed = {
        {"id", {"uuid", true}},
        {"job_type", {"text", true}},
        {"payload", {"jsonb", true}},
        {"version", {"integer", true}},
        {"status", {"job_status", true}},
        {"attempt", {"integer", true}},
        {"max_retries", {"integer", true}},
        {"priority", {"integer", true}},
        {"run_at", {"timestamp with time zone", true}},
        {"worker_id", {"text", false}},
        {"lease_expires_at", {"timestamp with time zone", false}},
        {"error_message", {"text", false}},
        {"error_kind", {"error_kind", false}},
        {"created_at", {"timestamp with time zone", true}},
        {"updated_at", {"timestamp with time zone", true}},
    };
    for (const auto& [name, shape] : seed) {
        auto it = columns.find(name);
        ASSERT_NE(it, columns.end()) << "seed column " << name << " is missing";
        EXPECT_EQ(it->second.type, shape.first) << "type of " << name;
        EXPECT_EQ(it->second.not_null, shape.second) << "nullability of " << name;
    }
    // The seed's defaults.
    EXPECT_EQ(columns["version"].default_value, "1");
    EXPECT_EQ(columns["status"].default_value, "'pending'::job_status");
    EXPECT_EQ(columns["attempt"].default_value, "1");
    EXPECT_EQ(columns["max_retries"].default_value, "3");
    EXPECT_EQ(columns["priority"].default_value, "0");
    EXPECT_EQ(columns["run_at"].default_value, "now()");
    EXPECT_EQ(columns["created_at"].default_value, "now()");
    EXPECT_EQ(columns["updated_at"].default_value, "now()");
    // What later migrations added.
    ASSERT_TRUE(columns.contains("queue"));
    EXPECT_EQ(columns["queue"].type, "text");
    EXPECT_TRUE(columns["queue"].not_null);
    EXPECT_EQ(columns["queue"].default_value, "'default'::text");
    EXPECT_NE(columns["id"].default_value, "") << "id needs a database default for plain INSERTs";
    ASSERT_TRUE(columns.contains("lease_ticket"));
    EXPECT_EQ(columns["lease_ticket"].type, "bigint");
    EXPECT_FALSE(columns["lease_ticket"].not_null);
    ASSERT_TRUE(columns.contains("uncounted_attempts"));
    EXPECT_EQ(columns["uncounted_attempts"].type, "integer");
    EXPECT_EQ(columns["uncounted_attempts"].default_value, "0");
    for (const auto& [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"unique_key", "text"}, {"unique_states", "job_status[]"}, {"unique_bucket", "timestamp with time zone"},
             {"errors", "jsonb"}}) {
        ASSERT_TRUE(columns.contains(name)) << name;
        EXPECT_EQ(columns[name].type, type) << name;
        EXPECT_FALSE(columns[name].not_null) << name;
        EXPECT_EQ(columns[name].default_value, "") << name;
    }
    ASSERT_TRUE(columns.contains("snoozes"));
    EXPECT_EQ(columns["snoozes"].type, "integer");
    EXPECT_TRUE(columns["snoozes"].not_null);
    EXPECT_EQ(columns["snoozes"].default_value, "0");
    EXPECT_EQ(columns.size(), seed.size() + 8) << "unexpected extra columns";

    auto key = sql("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                   " AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'jobs'::regclass AND i.indisprimary");
    ASSERT_EQ(key.rows(), 1u);
    EXPECT_EQ(key.get(0, 0), "id");
}

TEST_F(SeedSchema, EnumsHaveTheSeedsValuesInOrderThenCancelled) {
    auto values = [&](const std::string& type) {
        auto rows = sql("SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = $1::regtype ORDER BY e.enumsortorder",
                        {type});
        std::vector<std::string> out;
        for (std::size_t i = 0; i < rows.rows(); ++i) out.emplace_back(rows.get(i, 0));
        return out;
    };
    // The seed's values unchanged, in order; migration 0009 added cancelled after them.
    EXPECT_EQ(values("job_status"),
              (std::vector<std::string>{"pending", "running", "succeeded", "failed", "dead_letter", "cancelled"}));
    EXPECT_EQ(values("error_kind"), (std::vector<std::string>{"retryable", "non_retryable"}));
    // The enums live in the test's schema, not in public.
    auto where = sql("SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                     " WHERE t.oid = 'job_status'::regtype");
    EXPECT_EQ(where.get(0, 0), schema_);
}

TEST_F(SeedSchema, ReadyAndLeaseIndexesExist) {
    auto rows = sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs'",
                    {schema_});
    std::map<std::string, std::string> indexes;
    for (std::size_t i = 0; i < rows.rows(); ++i) indexes[std::string(rows.get(i, 0))] = rows.get(i, 1);
    ASSERT_TRUE(indexes.contains("idx_jobs_ready"));
    EXPECT_NE(indexes["idx_jobs_ready"].find("(queue, priority, run_at, id)"), std::string::npos)
        << indexes["idx_jobs_ready"];
    ASSERT_TRUE(indexes.contains("idx_jobs_lease"));
    EXPECT_NE(indexes["idx_jobs_lease"].find("(lease_expires_at)"), std::string::npos);
}

TEST_F(SeedSchema, TheSeedMigrationRunsOnItsOwn) {
    // The seed's own SQL was rejected by PostgreSQL (its index predicate
    // called now()); 0001 alone must run on an empty schema.
    ExtraSchema alone(url_, schema_ + "_seed");
    auto conn = connect();
    auto all = migrations();
    ASSERT_GE(all.size(), 1u);
    EXPECT_EQ(all[0].version, 1);
    Transaction tx(conn);
    conn.execute("CREATE SCHEMA " + quote_identifier(alone.name()));
    conn.execute("SET LOCAL search_path TO " + quote_identifier(alone.name()));
    ASSERT_NO_THROW(conn.execute(all[0].sql));
    conn.execute("INSERT INTO jobs (id, job_type, payload) VALUES (gen_random_uuid(), 'seed', '{}')");
    auto row = conn.execute("SELECT status::text, attempt, max_retries, priority, version FROM jobs");
    EXPECT_EQ(row.get(0, 0), "pending");
    EXPECT_EQ(row.get(0, 1), "1");
    EXPECT_EQ(row.get(0, 2), "3");
    EXPECT_EQ(row.get(0, 3), "0");
    EXPECT_EQ(row.get(0, 4), "1");
    tx.commit();
}

class Migrate : public StoreTest {};

TEST_F(Migrate, MigrationsAreNumberedInOrder) {
    auto all = migrations();
    ASSERT_GE(all.size(), 4u);
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
        EXPECT_FALSE(all[i].name.empty());
        EXPECT_FALSE(all[i].sql.empty());
    }
}

TEST_F(Migrate, ASecondRunAppliesNothing) {
    auto conn = connect();
    auto again = migrate(conn, schema_);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.version, migrations().back().version);
    EXPECT_EQ(sql("SELECT count(*) FROM seesaw_migrations").get_int64(0, 0),
              static_cast<std::int64_t>(migrations().size()));
    // The data survives.
    auto id = store_->enqueue(job_of("kept"));
    migrate(*pool_, schema_);
    EXPECT_TRUE(store_->get_job(id).has_value());
}

TEST_F(Migrate, AppliesEveryMigrationToANewSchemaAndReportsIt) {
    ExtraSchema fresh(url_, schema_ + "_new");
    auto conn = connect();
    auto before = migration_status(conn, fresh.name());
    ASSERT_EQ(before.size(), migrations().size());
    for (const auto& m : before) {
        EXPECT_FALSE(m.applied) << m.version;
        EXPECT_TRUE(m.applied_at.empty()) << m.version;
    }
    auto result = migrate(conn, fresh.name());
    ASSERT_EQ(result.applied.size(), migrations().size());
    for (std::size_t i = 0; i < result.applied.size(); ++i) {
        EXPECT_EQ(result.applied[i].version, migrations()[i].version);
        EXPECT_EQ(result.applied[i].name, migrations()[i].name);
    }
    EXPECT_EQ(result.version, migrations().back().version);
    auto after = migration_status(conn, fresh.name());
    ASSERT_EQ(after.size(), migrations().size());
    for (const auto& m : after) {
        EXPECT_TRUE(m.applied) << m.version;
        // ISO 8601 in UTC: 2026-11-29T03:04:05Z
        EXPECT_EQ(m.applied_at.size(), 20u) << m.applied_at;
        EXPECT_EQ(m.applied_at.back(), 'Z') << m.applied_at;
    }
}

TEST_F(Migrate, DryRunReportsAndChangesNothing) {
    ExtraSchema fresh(url_, schema_ + "_dry");
    auto conn = connect();
    auto result = migrate(conn, fresh.name(), /*dry_run=*/true);
    EXPECT_EQ(result.applied.size(), migrations().size());
    auto exists = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {fresh.name()});
    EXPECT_EQ(exists.get(0, 0), "0");
    EXPECT_TRUE(migrate(conn, schema_, true).applied.empty());
}

TEST_F(Migrate, ConcurrentMigratorsOfOneSchemaAllSucceedAndApplyOnce) {
    ExtraSchema fresh(url_, schema_ + "_race");
    constexpr int migrators = 4;
    std::vector<std::size_t> applied(migrators, 0);
    std::vector<std::string> errors(migrators);
    std::vector<std::thread> threads;
    for (int i = 0; i < migrators; ++i) {
        threads.emplace_back([&, i] {
            try {
                auto conn = Connection::open(url_);
                applied[i] = migrate(conn, fresh.name()).applied.size();
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    std::size_t total = 0;
    for (int i = 0; i < migrators; ++i) {
        EXPECT_EQ(errors[i], "") << "migrator " << i;
        total += applied[i];
    }
    EXPECT_EQ(total, migrations().size());
    auto conn = connect();
    auto rows = conn.execute("SELECT count(*) FROM " + quote_identifier(fresh.name()) + ".seesaw_migrations");
    EXPECT_EQ(rows.get_int64(0, 0), static_cast<std::int64_t>(migrations().size()));
}

TEST_F(Migrate, ConcurrentMigratorsOfDifferentSchemasAllSucceed) {
    constexpr int schemas = 4;
    std::vector<std::unique_ptr<ExtraSchema>> fresh;
    for (int i = 0; i < schemas; ++i)
        fresh.push_back(std::make_unique<ExtraSchema>(url_, schema_ + "_s" + std::to_string(i)));
    std::vector<std::string> errors(schemas);
    std::vector<std::thread> threads;
    for (int i = 0; i < schemas; ++i) {
        threads.emplace_back([&, i] {
            try {
                auto conn = Connection::open(url_);
                migrate(conn, fresh[i]->name());
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < schemas; ++i) EXPECT_EQ(errors[i], "") << "schema " << fresh[i]->name();
}

TEST_F(Migrate, TwoSchemasDoNotSeeEachOthersJobs) {
    ExtraSchema other_schema(url_, schema_ + "_other");
    migrate(*pool_, other_schema.name());
    auto other = PgJobStore(*pool_, PgJobStoreOptions{.schema = other_schema.name(), .transaction_pooling = pooled()});

    auto mine = store_->enqueue(job_of("mine"));
    auto theirs = other.enqueue(job_of("theirs"));
    other.enqueue(job_of("theirs"));

    EXPECT_EQ(store_->stats().pending, 1);
    EXPECT_EQ(other.stats().pending, 2);
    EXPECT_FALSE(store_->get_job(theirs).has_value());
    EXPECT_FALSE(other.get_job(mine).has_value());

    auto claimed = store_->claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, mine);
    EXPECT_EQ(other.claim_ready("w", 10).size(), 2u);
    EXPECT_EQ(store_->stats().running, 1);
    EXPECT_EQ(other.stats().running, 2);
}

TEST_F(Migrate, WorksWithASchemaNameThatNeedsQuoting) {
    ExtraSchema odd(url_, "Odd \"Sch\" x" + schema_.substr(schema_.size() - 8));
    migrate(*pool_, odd.name());
    auto store = PgJobStore(*pool_, PgJobStoreOptions{.schema = odd.name(), .transaction_pooling = pooled()});
    auto id = store.enqueue(job_of("quoted"));
    auto claimed = store.claim_ready("w", 1);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, id);
    store.mark_succeeded(claimed[0].lease());
    EXPECT_EQ(store.stats().succeeded, 1);
    EXPECT_EQ(store.retry_all_dead_letters(), 0u);
}

TEST_F(Migrate, RefusesBadUse) {
    auto conn = connect();
    EXPECT_THROW(migrate(conn, ""), UsageError);
    EXPECT_THROW(migrate(conn, std::string(64, 's')), UsageError);
    Transaction tx(conn);
    auto message = error_of<UsageError>([&] { migrate(conn, schema_); });
    EXPECT_NE(message.find("transaction"), std::string::npos) << message;
}

TEST_F(Migrate, AFailingMigrationLeavesTheSchemaAsItWas) {
    ExtraSchema target(url_, schema_ + "_half");
    auto conn = connect();
    // An object in the way of migration 4 (its job_counts table): 1 to 3
    // would apply, then 4 fails.
    conn.execute("CREATE SCHEMA " + quote_identifier(target.name()));
    conn.execute("CREATE TABLE " + quote_identifier(target.name()) + ".job_counts (x int)");
    auto message = error_of<SqlError>([&] { migrate(conn, target.name()); });
    EXPECT_NE(message.find("migration 4_job_counts failed"), std::string::npos) << message;
    EXPECT_NE(message.find("nothing was changed"), std::string::npos) << message;
    auto left = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace",
                             {quote_identifier(target.name())});
    EXPECT_EQ(left.get_int64(0, 0), 1) << "only the table that was there before";
    auto status = migration_status(conn, target.name());
    for (const auto& m : status) EXPECT_FALSE(m.applied) << m.version;
}

TEST_F(Migrate, ASchemaMigratedByANewerSeesawIsReportedAndLeftAlone) {
    sql("INSERT INTO seesaw_migrations (version, name) VALUES (900, 'from_the_future')");
    auto conn = connect();
    auto message = error_of<NewerSchemaError>([&] { migrate(conn, schema_); });
    EXPECT_NE(message.find("900"), std::string::npos) << message;
    EXPECT_NE(message.find("newer seesaw"), std::string::npos) << message;
    EXPECT_THROW(migrate(conn, schema_, true), NewerSchemaError);
    auto status = migration_status(conn, schema_);
    ASSERT_FALSE(status.empty());
    EXPECT_EQ(status.back().version, 900);
    EXPECT_EQ(status.back().name, "from_the_future");
    EXPECT_FALSE(status.back().known);
    EXPECT_TRUE(status.front().known);
}

TEST_F(Migrate, UpgradingMendsRowsThatBrokeClaims) {
    // A schema at version 5, with rows plain SQL could insert then.
    ExtraSchema old(url_, schema_ + "_v5");
    auto conn = connect();
    ASSERT_EQ(migrate_to(conn, old.name(), 5).version, 5);
    const auto jobs = quote_identifier(old.name()) + ".jobs";
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, run_at) VALUES ('t', '{}', '-infinity')");
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, created_at) VALUES ('t', '{}', 'infinity')");
    conn.execute("INSERT INTO " + jobs + " (job_type, payload, queue) VALUES ('t', '{}', repeat('q', 200))");
    conn.execute("INSERT INTO " + jobs + " (job_type, payload) VALUES ('ok', '{}')");
    PgJobStore store(*pool_, PgJobStoreOptions{.schema = old.name(), .transaction_pooling = pooled()});
    EXPECT_THROW(store.claim_ready("w", 10), SqlError) << "version 5 cannot claim past the -infinity row";

    auto result = migrate(conn, old.name());
    EXPECT_EQ(result.version, migrations().back().version);
    auto claimed = store.claim_ready("w", 10);
    EXPECT_EQ(claimed.size(), 3u) << "every job of the default queue";
    auto dead = conn.execute("SELECT error_message FROM " + jobs + " WHERE status = 'dead_letter'");
    ASSERT_EQ(dead.rows(), 1u);
    EXPECT_NE(dead.get(0, 0).find("longer than 128 bytes"), std::string::npos) << dead.get(0, 0);
}

TEST_F(Migrate, RowsNoDispatcherCouldHandleAreRefusedByName) {
    auto refused = [&](const std::string& values) {
        return error_of<ConstraintError>([&] {
            sql("INSERT INTO jobs (job_type, payload, queue, run_at, max_retries) VALUES " + values);
        });
    };
    EXPECT_NE(refused("('t', '{}', 'default', '-infinity', 3)").find("jobs_run_at_finite_and_before_294247"),
              std::string::npos);
    EXPECT_NE(refused("('t', '{}', 'default', 'infinity', 3)").find("jobs_run_at_finite_and_before_294247"),
              std::string::npos);
    EXPECT_NE(refused("('t', '{}', repeat('q', 129), now(), 3)").find("jobs_queue_at_most_128_bytes"),
              std::string::npos);
    EXPECT_NE(refused("(repeat('t', 256), '{}', 'default', now(), 3)").find("jobs_job_type_at_most_255_bytes"),
              std::string::npos);
    EXPECT_NE(refused("('t', '{}', 'default', now(), 2000000000)").find("jobs_max_retries_at_most_1000000000"),
              std::string::npos);
    EXPECT_EQ(count(), 0);
    // The limits themselves are accepted.
    sql("INSERT INTO jobs (job_type, payload, queue, run_at) VALUES"
        " (repeat('t', 255), '{}', repeat('q', 128), '294246-12-31 23:59:59+00'),"
        " ('t', '{}', 'default', '0001-01-01 00:00:00+00')");
    EXPECT_EQ(count(), 2);
    auto claimed = store_->claim_ready("w", 10);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].run_at, earliest_run_at);
}

}  // namespace
}  // namespace seesaw::test

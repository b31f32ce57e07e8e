#include "test_database.hpp"

#include <cstdlib>
#include <random>
#include <string_view>

namespace seesaw::test {

std::string database_url() {
    for (const char* name : {"SEESAW_TEST_DATABASE_URL", "SEESAW_DATABASE_URL"}) {
        if (const char* url = std::getenv(name); url != nullptr && *url != '\0') return url;
    }
    ADD_FAILURE() << "set SEESAW_TEST_DATABASE_URL (scripts/test.sh starts a database and sets it)";
    return "postgresql://invalid";
}

std::string direct_url() {
    const char* v = std::getenv("SEESAW_TEST_DIRECT_DATABASE_URL");
    return v != nullptr && *v != '\0' ? std::string(v) : database_url();
}

std::string unique_schema_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "t_";
    for (char c : std::string(info ? info->name() : "test")) {
        name.push_back((std::isalnum(static_cast<unsigned char>(c)) != 0) ? static_cast<char>(std::tolower(c)) : '_');
        if (name.size() > 40) break;
    }
    std::random_device device;
    char tail[10];
    std::snprintf(tail, sizeof tail, "_%08x", device());
    return name + tail;
}

void SchemaTest::SetUp() {
    url_ = database_url();
    direct_url_ = direct_url();
    schema_ = unique_schema_name();
    admin_.emplace(Connection::open(direct_url_));
    migrate(*admin_, schema_);
    pool_.emplace(url_, PgPoolOptions{.max_connections = 16});
    store_.emplace(make_store());
}

void SchemaTest::TearDown() {
    store_.reset();
    pool_.reset();
    if (admin_) {
        try {
            admin_->execute("DROP SCHEMA IF EXISTS " + quote_identifier(schema_) + " CASCADE");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "dropping schema " << schema_ << ": " << e.what();
        }
    }
}

PgJobStore SchemaTest::make_store(PgJobStoreOptions options) {
    options.schema = schema_;
    if (pooled()) options.transaction_pooling = true;
    return PgJobStore(*pool_, std::move(options));
}

QueryResult SchemaTest::sql(const std::string& statement, std::initializer_list<Param> params) {
    auto conn = connect();
    conn.execute("SET search_path TO " + quote_identifier(schema_));
    return conn.execute(statement, params);
}

std::int64_t SchemaTest::count(const std::string& where) {
    return sql("SELECT count(*) FROM jobs WHERE " + where).get_int64(0, 0);
}

}  // namespace seesaw::test

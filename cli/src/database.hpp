#pragma once
// The database side of the CLI: one small pool and the store per command.
// Every query goes through the store (PgJobStore), none is written here.

#include <string>

#include "commands.hpp"
#include "seesaw/store/pg_job_store.hpp"
#include "seesaw/store/pg_pool.hpp"

namespace seesaw::cli {

class Database {
public:
    // Connects at once: a bad URL fails here (ConnectionError, exit 1).
    explicit Database(const ConnectionOptions& options);

    PgJobStore& store() noexcept { return store_; }
    PgPool& pool() noexcept { return pool_; }
    const std::string& schema() const noexcept { return store_.schema(); }

private:
    PgPool pool_;
    PgJobStore store_;
};

}  // namespace seesaw::cli

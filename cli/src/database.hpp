#pragma once
// The database side of the CLI: one small pool and the store per command,
// plus the few queries an operator needs that the store's API does not offer
// (the oldest pending job per queue, the dead letters with their errors,
// retrying a list of ids in one transaction).

#include <map>
#include <span>
#include <string>
#include <vector>

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
    // The schema, quoted for SQL.
    std::string schema_sql() const;

private:
    PgPool pool_;
    PgJobStore store_;
};

// Seconds since the longest-waiting pending job of each queue became due,
// for queues with at least one due pending job (all queues, or just `queue`).
std::map<std::string, double> oldest_pending_ages(Database& db, const std::string* queue);

// Every dead-lettered job, oldest dead first.
std::vector<Job> list_dead_letters(Database& db);

// dead_letter → pending with the attempt count reset, for exactly these ids,
// in one transaction. Throws UserError (and writes nothing) when an id does
// not exist or is not in the dead letter queue. Returns the count.
std::uint64_t retry_dead_letters(Database& db, std::span<const JobId> ids);

}  // namespace seesaw::cli

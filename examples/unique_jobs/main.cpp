// The README's unique jobs example: one report per account per day, however
// many producers ask for it.
// Run: seesaw-unique-jobs postgresql://user@host/db [SCHEMA]
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <seesaw/seesaw.hpp>

struct DailyReport {
    std::int64_t account = 0;
};

template <>
struct seesaw::JobTraits<DailyReport> {
    static constexpr std::string_view name = "daily_report";
    static void encode(const DailyReport& job, seesaw::PayloadWriter& out) { out.field("account", job.account); }
    static DailyReport decode(const seesaw::PayloadReader& in) { return {in.int64("account")}; }
};

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SEESAW_DATABASE_URL");
    if (url == nullptr) {
        std::cerr << "usage: seesaw-unique-jobs DATABASE_URL [SCHEMA]\n";
        return 2;
    }
    const std::string schema = argc > 2 ? argv[2] : "seesaw";
    try {
        seesaw::PgPool pool(url);
        seesaw::migrate(pool, schema);
        seesaw::PgJobStore store(pool, {.schema = schema});

        // [unique jobs]
        // At most one daily_report per account per day (UTC) until it has run.
        auto report_for = [](std::int64_t account) {
            return seesaw::EnqueueOptions{.queue = "reports",
                                          .unique_key = "account-" + std::to_string(account),
                                          .unique_for = std::chrono::hours(24)};
        };
        seesaw::Enqueued first = store.insert(DailyReport{42}, report_for(42));
        seesaw::Enqueued again = store.insert(DailyReport{42}, report_for(42));
        // first.inserted: true (unless account 42 has a report today already);
        // again.inserted: false, and again.id == first.id: the job that holds the key.
        std::cout << "first: " << first.id.to_string() << (first.inserted ? " inserted" : " duplicate") << "\n"
                  << "again: " << again.id.to_string() << (again.inserted ? " inserted" : " duplicate") << "\n";

        // A batch maps every job to the one holding its key; the first of two
        // with the same key wins.
        std::vector<seesaw::NewJob> batch;
        for (std::int64_t account : {7, 8, 7})
            batch.push_back(seesaw::JobStore::make_new_job(DailyReport{account}, report_for(account)));
        for (const seesaw::Enqueued& e : store.insert_batch(batch))
            std::cout << "batch: " << e.id.to_string() << (e.inserted ? " inserted" : " duplicate") << "\n";
        // [unique jobs end]
    } catch (const seesaw::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

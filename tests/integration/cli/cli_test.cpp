// Drives the real `seesaw` binary against the test database: every
// command's output (JSON parsed, not grepped), its exit status, and that
// refused input writes nothing.
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cli_runner.hpp"
#include "malformed_conninfos.hpp"
#include "test_database.hpp"

namespace seesaw::test {
namespace {

rapidjson::Document parse_json(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    EXPECT_FALSE(doc.HasParseError()) << "not one JSON document: " << text;
    return doc;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

class CliTest : public SchemaTest {
protected:
    // Runs `seesaw args... --database-url <test db> --schema <test schema>`.
    CliResult seesaw(std::vector<std::string> args, const std::string& input = "") {
        args.insert(args.end(), {"--database-url", url_, "--schema", schema_});
        return run_cli(args, input);
    }

    std::vector<JobId> enqueue(std::size_t n, const std::string& type, EnqueueOptions options = {}) {
        std::vector<NewJob> jobs;
        for (std::size_t i = 0; i < n; ++i)
            jobs.push_back(NewJob{type, "{\"n\":" + std::to_string(i) + "}", options});
        return store_->enqueue_batch(jobs);
    }

    std::vector<ClaimedJob> claim(std::size_t n, const std::string& queue = "default") {
        return store_->claim_ready("cli-test-worker", n, ClaimFilter{queue});
    }

    // n jobs of `type` in `queue` that failed their only attempt.
    std::vector<JobId> dead_letters(std::size_t n, const std::string& type, const std::string& queue = "default",
                                    const std::string& error = "boom") {
        auto ids = enqueue(n, type, {.max_retries = 0, .queue = queue});
        std::vector<FailureReport> failures;
        for (const auto& job : claim(n, queue))
            failures.push_back(FailureReport{job.lease(), error, ErrorKind::non_retryable});
        EXPECT_EQ(failures.size(), n);
        for (const auto& r : store_->mark_failed_batch(failures)) EXPECT_EQ(r.outcome, FailOutcome::dead_lettered);
        return ids;
    }

    std::vector<JobId> succeeded(std::size_t n, const std::string& type, const std::string& queue = "default") {
        auto ids = enqueue(n, type, {.queue = queue});
        std::vector<JobLease> leases;
        for (const auto& job : claim(n, queue)) leases.push_back(job.lease());
        EXPECT_TRUE(store_->mark_succeeded_batch(leases).empty());
        return ids;
    }

    std::string status_of(const JobId& id) {
        return std::string(sql("SELECT status::text FROM jobs WHERE id = $1::uuid", {id.to_string()}).get(0, 0));
    }

    std::int64_t count_paused(const std::string& queue) {
        return sql("SELECT count(*) FROM queue_pauses WHERE queue = $1", {queue}).get_int64(0, 0);
    }
};

// --- usage -------------------------------------------------------------------

TEST_F(CliTest, EveryCommandHasHelp) {
    const std::vector<std::vector<std::string>> commands = {
        {},        {"migrate"}, {"enqueue"},     {"stats"},           {"jobs"},          {"jobs", "list"},
        {"jobs", "show"}, {"jobs", "cancel"}, {"queues"}, {"queues", "list"}, {"queues", "pause"},
        {"queues", "resume"}, {"periodic"}, {"periodic", "list"}, {"dead-letter"}, {"dead-letter", "list"}, {"dead-letter", "retry"}, {"cleanup"},
        {"reclaim"}};
    for (const auto& command : commands) {
        auto args = command;
        args.push_back("--help");
        auto r = run_cli(args);
        std::string name = "seesaw";
        for (const auto& word : command) name += " " + word;
        EXPECT_EQ(r.status, 0) << name << ": " << r.err;
        EXPECT_NE(r.out.find("Usage: " + name), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("--database-url"), std::string::npos) << name;
        EXPECT_NE(r.out.find("--schema"), std::string::npos) << name;
    }
    auto r = run_cli({"enqueue", "--help"});
    for (const char* option : {"--queue", "--priority", "--run-at", "--max-retries"})
        EXPECT_NE(r.out.find(option), std::string::npos) << option;
}

TEST_F(CliTest, UnknownCommandIsAUsageError) {
    auto r = seesaw({"frobnicate"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());

    r = seesaw({"jobs", "frobnicate"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown command 'frobnicate' for 'seesaw jobs'"), std::string::npos) << r.err;

    EXPECT_EQ(run_cli({}).status, 2);
    r = seesaw({"stats", "--frobnicate"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
    EXPECT_EQ(seesaw({"enqueue", "only_a_type"}).status, 2);
    EXPECT_EQ(seesaw({"enqueue", "t", "{}", "--priority", "high"}).status, 2);
    EXPECT_EQ(count(), 0);
}

TEST_F(CliTest, BadDatabaseUrlFailsWithTheReason) {
    for (const std::string bad : {"postgresql://seesaw@127.0.0.1:1/nothing", "postgresql://[not-a-url"}) {
        auto r = run_cli({"enqueue", "t", "{}", "--database-url", bad, "--schema", schema_});
        EXPECT_EQ(r.status, 1) << bad;
        EXPECT_NE(r.err.find("cannot connect to the database"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_EQ(count(), 0);
}

TEST_F(CliTest, DatabaseUrlComesFromTheEnvironmentThenFromLibpq) {
    auto r = run_cli({"enqueue", "from_env", "{}", "--schema", schema_}, "", {{"SEESAW_DATABASE_URL", url_}});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count("job_type = 'from_env'"), 1);

    // Without SEESAW_DATABASE_URL, libpq's own variables decide.
    auto server = sql("SELECT host(inet_server_addr()), inet_server_port(), current_user, current_database()");
    if (server.is_null(0, 0)) GTEST_SKIP() << "the test database is reached by a Unix socket";
    r = run_cli({"enqueue", "from_pg_env", "{}", "--schema", schema_}, "",
                {{"SEESAW_DATABASE_URL", std::nullopt},
                 {"PGHOST", std::string(server.get(0, 0))},
                 {"PGPORT", std::string(server.get(0, 1))},
                 {"PGUSER", std::string(server.get(0, 2))},
                 {"PGDATABASE", std::string(server.get(0, 3))}});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count("job_type = 'from_pg_env'"), 1);
}

TEST_F(CliTest, CommandsOnAnUnmigratedSchemaSayHowToFixIt) {
    auto r = run_cli({"stats", "--database-url", url_, "--schema", schema_ + "_missing"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("seesaw migrate --schema " + schema_ + "_missing"), std::string::npos) << r.err;
}

// --- migrate -----------------------------------------------------------------

TEST_F(CliTest, MigrateStatusDryRunAndApply) {
    const std::string fresh = schema_ + "_m";
    struct DropSchema {
        std::string url, name;
        ~DropSchema() {
            Connection::open(url).execute("DROP SCHEMA IF EXISTS " + quote_identifier(name) + " CASCADE");
        }
    } drop{url_, fresh};
    auto exists = [&] {
        return sql("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {fresh}).get_int64(0, 0) == 1;
    };
    const auto all = migrations();
    ASSERT_FALSE(all.empty());
    const std::vector<std::string> connection = {"--database-url", url_, "--schema", fresh};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), connection.begin(), connection.end());
        return args;
    };

    auto r = run_cli(with({"migrate", "--status"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("0 of " + std::to_string(all.size()) + " migrations applied"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), static_cast<long>(all.size()) + 2);

    r = run_cli(with({"migrate", "--dry-run"}));
    ASSERT_EQ(r.status, 0) << r.err;
    for (const auto& m : all) EXPECT_NE(r.out.find(std::string(m.name)), std::string::npos) << m.name;
    EXPECT_NE(r.out.find("would apply 0001_seed_schema"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nothing was changed"), std::string::npos) << r.out;
    EXPECT_FALSE(exists()) << "--dry-run created the schema";

    r = run_cli(with({"migrate"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("applied 0001_seed_schema"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("now at version " + std::to_string(all.back().version)), std::string::npos) << r.out;
    EXPECT_TRUE(exists());

    r = run_cli(with({"migrate", "--status"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(std::to_string(all.size()) + " of " + std::to_string(all.size()) + " migrations applied"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("pending  -"), std::string::npos) << r.out;

    r = run_cli(with({"migrate"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("up to date"), std::string::npos) << r.out;

    EXPECT_EQ(run_cli(with({"migrate", "--status", "--dry-run"})).status, 2);
}

// --- enqueue -----------------------------------------------------------------

TEST_F(CliTest, EnqueuePrintsTheIdOfTheStoredJob) {
    auto r = seesaw({"enqueue", "send_email", R"({"to":"a@b.c","n":[1,2]})", "--queue", "emails", "--priority", "-3",
                     "--max-retries", "7"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto id = JobId::parse(trimmed(r.out));
    auto job = store_->get_job(id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->job_type, "send_email");
    EXPECT_EQ(job->queue, "emails");
    EXPECT_EQ(job->priority, -3);
    EXPECT_EQ(job->max_retries, 7);
    EXPECT_EQ(job->status, JobStatus::pending);
    auto payload = parse_json(job->payload);
    EXPECT_STREQ(payload["to"].GetString(), "a@b.c");
    EXPECT_EQ(payload["n"].Size(), 2u);
    EXPECT_EQ(count("run_at <= now()"), 1) << "without --run-at a job is due at once";
}

TEST_F(CliTest, EnqueueRelativeRunAtUsesTheDatabaseClock) {
    for (const auto& [text, interval] : std::vector<std::pair<std::string, std::string>>{
             {"+45s", "45 seconds"}, {"+90m", "90 minutes"}, {"+2h", "2 hours"}, {"+1d", "1 day"}}) {
        auto r = seesaw({"enqueue", "later", "{}", "--run-at", text});
        ASSERT_EQ(r.status, 0) << text << ": " << r.err;
        // run_at = now() + delay in the INSERT's transaction, so exactly created_at + delay.
        EXPECT_EQ(count("id = '" + trimmed(r.out) + "' AND run_at = created_at + interval '" + interval + "'"), 1)
            << text;
    }
}

TEST_F(CliTest, EnqueueAbsoluteRunAt) {
    auto r = seesaw({"enqueue", "later", "{}", "--run-at", "2100-01-02T03:04:05.25+02:00"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count("run_at = '2100-01-02 01:04:05.25+00'"), 1);
    r = seesaw({"enqueue", "later", "{}", "--run-at", "2100-03-04 05:06"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count("run_at = '2100-03-04 05:06:00+00'"), 1) << "no offset means UTC";
}

TEST_F(CliTest, EnqueueRunAtInThePastIsDueNow) {
    auto r = seesaw({"enqueue", "overdue", R"({"k":1})", "--run-at", "2001-02-03T04:05:06Z"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto id = JobId::parse(trimmed(r.out));
    auto claimed = claim(10);
    ASSERT_EQ(claimed.size(), 1u) << "the job is due now";
    EXPECT_EQ(claimed[0].id, id);
}

TEST_F(CliTest, EnqueueRefusesBadInputAndWritesNothing) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"enqueue", "t", R"({"a":1)"}, "payload is not valid JSON"},
        {{"enqueue", "t", R"({"a":1)"}, "(at byte 6)"},
        {{"enqueue", "t", "{\"a\" 1}"}, "(at byte 5)"},
        {{"enqueue", "t", "[1,2]"}, "payload must be a JSON object, not an array"},
        {{"enqueue", "t", "{}", "--max-retries", "-1"}, "--max-retries must be 0 or more, got -1"},
        {{"enqueue", "t", "{}", "--max-retries=-1"}, "--max-retries must be 0 or more, got -1"},
        {{"enqueue", "t", "{}", "--run-at", "tomorrow"}, "--run-at 'tomorrow': expected an ISO 8601 time"},
        {{"enqueue", "t", "{}", "--run-at", "2026-02-30T00:00:00Z"}, "no such date"},
        {{"enqueue", "t", "{}", "--run-at", "+5x"}, "--run-at '+5x': the unit must be s, m, h or d"},
        {{"enqueue", "t", "{}", "--run-at", "+-5s"}, "--run-at '+-5s'"},
        {{"enqueue", "", "{}"}, "TYPE must not be empty"},
        {{"enqueue", "t", "{}", "--queue", ""}, "--queue must not be empty"},
    };
    for (const auto& c : cases) {
        auto r = seesaw(c.args);
        EXPECT_EQ(r.status, 1) << c.message << ": " << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_EQ(count(), 0);
}

TEST_F(CliTest, EnqueueWithAUniqueKeySaysWhetherItWasADuplicate) {
    auto first = seesaw({"enqueue", "report", R"({"account":1})", "--unique-key", "account-1", "--unique-for", "1h"});
    ASSERT_EQ(first.status, 0) << first.err;
    ASSERT_EQ(first.out.size(), 36 + std::string(" inserted\n").size()) << first.out;
    const std::string id = first.out.substr(0, 36);
    EXPECT_EQ(first.out.substr(36), " inserted\n");

    auto second = seesaw({"enqueue", "report", R"({"account":1})", "--unique-key", "account-1", "--unique-for", "1h"});
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(second.out, id + " duplicate\n");
    EXPECT_EQ(count(), 1);

    // From stdin, in one transaction: the key's first line is inserted.
    auto lines = seesaw({"enqueue", "digest", "-", "--unique-key", "daily"}, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    ASSERT_EQ(lines.status, 0) << lines.err;
    EXPECT_EQ(lines.out, "enqueued 1 job (2 duplicates not inserted)\n");
    EXPECT_EQ(count(), 2);

    auto shown = seesaw({"jobs", "show", id});
    ASSERT_EQ(shown.status, 0) << shown.err;
    EXPECT_NE(shown.out.find("unique_key:"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("account-1 (held while pending, running, failed; within the period from "),
              std::string::npos)
        << shown.out;

    for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"enqueue", "t", "{}", "--unique-key", ""}, "--unique-key must not be empty"},
             {{"enqueue", "t", "{}", "--unique-for", "1h"}, "--unique-for needs --unique-key"},
             {{"enqueue", "t", "{}", "--unique-key", "k", "--unique-for", "0s"}, "--unique-for must be positive"},
             {{"enqueue", "t", "{}", "--unique-key", "k", "--unique-for", "soon"}, "--unique-for"}}) {
        auto r = seesaw(args);
        EXPECT_EQ(r.status, 1) << message << ": " << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << "expected '" << message << "' in: " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_EQ(count(), 2);
}

#ifdef SEESAW_UNIQUE_JOBS_EXAMPLE_PATH
// The README's unique jobs example, run as a user would.
TEST_F(CliTest, TheUniqueJobsExampleInsertsOneReportPerAccount) {
    CliProcess example({url_, schema_}, SEESAW_UNIQUE_JOBS_EXAMPLE_PATH);
    std::vector<std::string> lines;
    while (auto line = example.read_line()) lines.push_back(*line);
    auto r = example.wait();
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lines.size(), 5u);
    const std::string id = lines[0].substr(7, 36);
    EXPECT_EQ(lines[0], "first: " + id + " inserted");
    EXPECT_EQ(lines[1], "again: " + id + " duplicate");
    const std::string account_7 = lines[2].substr(7, 36);
    EXPECT_EQ(lines[2], "batch: " + account_7 + " inserted");
    EXPECT_EQ(lines[3].substr(0, 7) + lines[3].substr(43), "batch:  inserted");
    EXPECT_EQ(lines[4], "batch: " + account_7 + " duplicate");
    EXPECT_EQ(count(), 3);
}
#endif

#ifdef SEESAW_JOB_CONTROL_EXAMPLE_PATH
// The README's job control example, run as a user would: a type's defaults,
// cancel, pause and resume, a snoozing handler and one that cancels its job.
TEST_F(CliTest, TheJobControlExampleCancelsSnoozesAndPauses) {
    CliProcess example({url_, schema_}, SEESAW_JOB_CONTROL_EXAMPLE_PATH);
    std::vector<std::string> lines;
    while (auto line = example.read_line()) lines.push_back(*line);
    auto r = example.wait();
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lines, (std::vector<std::string>{
                         "cat.png: queue media, priority 5, max_retries 2",
                         "dog.png: cancelled, was pending",
                         "dog.png again: left as it was: cancelled",
                         "cancel_all: 1 cancelled",
                         "queue media: running, 2 pending, 2 cancelled",
                         "upload.png: succeeded after 2 snooze(s)",
                         "gone.png: cancelled after 0 snooze(s) (the image was deleted)",
                     }));
    EXPECT_EQ(count("status = 'cancelled'"), 3);
    EXPECT_EQ(count("status = 'succeeded' AND snoozes = 2 AND attempt = 3"), 1);
}
#endif

#ifdef SEESAW_EXACTLY_ONCE_EXAMPLE_PATH
// The README's exactly-once example, run as a user would: the committed
// order is shipped (its job handed over in memory, its row deleted with the
// shipment's commit), the rolled-back one is not, and nothing else ran.
TEST_F(CliTest, TheExactlyOnceExampleShipsTheCommittedOrderOnly) {
    CliProcess example({url_, schema_}, SEESAW_EXACTLY_ONCE_EXAMPLE_PATH);
    std::vector<std::string> lines;
    while (auto line = example.read_line()) lines.push_back(*line);
    auto r = example.wait();
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lines.size(), 3u) << r.err;
    EXPECT_EQ(lines[0], "order 1 (teapot): shipped");
    EXPECT_EQ(lines[1], "shipments of other orders: 0");
    EXPECT_EQ(lines[2], "jobs handed over in memory: 1");
    // It deletes succeeded jobs (PgJobStoreOptions::delete_succeeded): the
    // shipment names the job that wrote it, and the job's row is gone.
    EXPECT_EQ(count("job_type = 'ship_order'"), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM example_shipments WHERE order_id = 1").get_int64(0, 0), 1);
}
#endif

#ifdef SEESAW_PERIODIC_EXAMPLE_PATH
// The README's periodic jobs example, run as a user would; then the
// schedules as `seesaw periodic list` shows them.
TEST_F(CliTest, ThePeriodicExampleRunsItsScheduleAndPeriodicListShowsIt) {
    CliProcess example({url_, schema_}, SEESAW_PERIODIC_EXAMPLE_PATH);
    std::vector<std::string> lines;
    while (auto line = example.read_line()) lines.push_back(*line);
    auto r = example.wait();
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].starts_with("nightly-report (0 3 * * *, nightly_report on queue reports): next slot "))
        << lines[0];
    EXPECT_TRUE(lines[0].ends_with("T03:00:00.000000Z")) << lines[0];
    EXPECT_TRUE(lines[1].starts_with("refresh-cache (@every 1s, refresh_cache on queue default): next slot "))
        << lines[1];
    EXPECT_GE(count("job_type = 'refresh_cache' AND status = 'succeeded' AND priority = -1"), 3);
    EXPECT_EQ(count("job_type = 'refresh_cache'"),
              sql("SELECT count(DISTINCT unique_key) FROM jobs WHERE job_type = 'refresh_cache'").get_int64(0, 0));

    auto listed = seesaw({"periodic", "list", "--json"});
    ASSERT_EQ(listed.status, 0) << listed.err;
    rapidjson::Document doc;
    doc.Parse(listed.out.c_str());
    ASSERT_TRUE(doc.IsArray()) << listed.out;
    ASSERT_EQ(doc.Size(), 2u);
    EXPECT_STREQ(doc[0]["name"].GetString(), "nightly-report");
    EXPECT_STREQ(doc[0]["expression"].GetString(), "0 3 * * *");
    EXPECT_STREQ(doc[0]["job_type"].GetString(), "nightly_report");
    EXPECT_TRUE(doc[0]["last_slot"].IsNull()) << "no 03:00 has passed since it was registered";
    EXPECT_TRUE(std::string(doc[0]["next_slot"].GetString()).ends_with("T03:00:00.000000Z"));
    EXPECT_STREQ(doc[1]["name"].GetString(), "refresh-cache");
    EXPECT_TRUE(doc[1]["last_slot"].IsString());
    EXPECT_TRUE(doc[1]["next_slot"].IsString());

    auto table = seesaw({"periodic", "list"});
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_TRUE(table.out.starts_with("NAME")) << table.out;
    EXPECT_NE(table.out.find("nightly-report  0 3 * * *"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("2 schedules"), std::string::npos) << table.out;
}
#endif

TEST_F(CliTest, EnqueueFromStdin50000Lines) {
    constexpr int lines = 50'000;
    std::string input;
    for (int i = 0; i < lines; ++i) input += "{\"n\":" + std::to_string(i) + ",\"tag\":\"bulk\"}\n";
    input += "\n";  // a blank line is skipped
    auto r = seesaw({"enqueue", "bulk", "-", "--queue", "imports", "--priority", "4"}, input);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "enqueued 50000 jobs");
    EXPECT_EQ(count(), lines);
    EXPECT_EQ(count("job_type = 'bulk' AND queue = 'imports' AND priority = 4 AND status = 'pending'"), lines);
    EXPECT_EQ(sql("SELECT count(DISTINCT (payload->>'n')::int) FROM jobs").get_int64(0, 0), lines);
    EXPECT_EQ(store_->stats_by_queue()["imports"].pending, lines);
}

TEST_F(CliTest, EnqueueFromStdinWithABadLineWritesNothing) {
    // The bad line comes after two full batches: they must be rolled back too.
    std::string input;
    for (int i = 1; i <= 12'000; ++i) input += i == 11'000 ? "{\"n\": oops}\n" : "{\"n\":1}\n";
    auto r = seesaw({"enqueue", "bulk", "-"}, input);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("stdin line 11000 is not valid JSON"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(at byte 6)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was enqueued"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(count(), 0);

    r = seesaw({"enqueue", "bulk", "-"}, "{}\n[]\n");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("stdin line 2 must be a JSON object"), std::string::npos) << r.err;
    EXPECT_EQ(count(), 0);

    r = seesaw({"enqueue", "bulk", "-", "--max-retries", "-1"}, "{}\n");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count(), 0);
}

// --- stats -------------------------------------------------------------------

TEST_F(CliTest, StatsCountsEveryStateAndTheOldestPendingAge) {
    enqueue(5, "a");                          // default: 5 pending
    succeeded(3, "a");                        // default: 3 succeeded
    dead_letters(2, "b", "mail");             // mail: 2 dead letters
    enqueue(4, "b", {.queue = "mail"});       // mail: 4 pending...
    auto running = claim(1, "mail");          // ...one of them running
    ASSERT_EQ(running.size(), 1u);
    enqueue(1, "c", {.queue = "mail"});
    auto to_fail = claim(1, "mail");
    ASSERT_EQ(to_fail.size(), 1u);
    store_->mark_failed(to_fail[0].lease(), "try again", ErrorKind::retryable);  // mail: 1 failed
    enqueue(1, "later", {.delay = std::chrono::hours(1)});                      // default: pending, not due
    // One pending job of `default` has waited an hour.
    sql("UPDATE jobs SET created_at = now() - interval '1 hour', run_at = now() - interval '1 hour'"
        " WHERE id = (SELECT id FROM jobs WHERE queue = 'default' AND status = 'pending' AND run_at <= now()"
        " ORDER BY id LIMIT 1)");

    auto r = seesaw({"stats", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one document on one line";
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc.IsObject());
    ASSERT_TRUE(doc["queues"].IsObject());
    EXPECT_EQ(doc["queues"].MemberCount(), 2u);
    const auto& def = doc["queues"]["default"];
    const auto& mail = doc["queues"]["mail"];
    const auto& total = doc["total"];
    EXPECT_EQ(def["pending"].GetInt64(), 6);
    EXPECT_EQ(def["running"].GetInt64(), 0);
    EXPECT_EQ(def["succeeded"].GetInt64(), 3);
    EXPECT_EQ(def["failed"].GetInt64(), 0);
    EXPECT_EQ(def["dead_letter"].GetInt64(), 0);
    EXPECT_EQ(mail["pending"].GetInt64(), 3);
    EXPECT_EQ(mail["running"].GetInt64(), 1);
    EXPECT_EQ(mail["succeeded"].GetInt64(), 0);
    EXPECT_EQ(mail["failed"].GetInt64(), 1);
    EXPECT_EQ(mail["dead_letter"].GetInt64(), 2);
    for (const char* field : {"pending", "running", "succeeded", "failed", "dead_letter"})
        EXPECT_EQ(total[field].GetInt64(), def[field].GetInt64() + mail[field].GetInt64()) << field;
    ASSERT_TRUE(def["oldest_pending_age_s"].IsNumber());
    EXPECT_GE(def["oldest_pending_age_s"].GetDouble(), 3600.0);
    EXPECT_LT(def["oldest_pending_age_s"].GetDouble(), 86400.0);
    EXPECT_GE(mail["oldest_pending_age_s"].GetDouble(), 0.0);
    EXPECT_LT(mail["oldest_pending_age_s"].GetDouble(), 3600.0);
    EXPECT_EQ(total["oldest_pending_age_s"].GetDouble(), def["oldest_pending_age_s"].GetDouble());
    EXPECT_EQ(total.MemberCount(), 7u);  // six states and the age
    EXPECT_EQ(def.MemberCount(), 8u);    // and whether it is paused

    // The table: one row per queue and a total, every line the same width.
    r = seesaw({"stats"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    EXPECT_TRUE(lines[0].starts_with("QUEUE")) << r.out;
    EXPECT_TRUE(lines[1].starts_with("default ")) << r.out;
    EXPECT_TRUE(lines[2].starts_with("mail ")) << r.out;
    EXPECT_TRUE(lines[3].starts_with("TOTAL ")) << r.out;
    for (const auto& line : lines) EXPECT_EQ(line.size(), lines[0].size()) << r.out;
    EXPECT_NE(lines[1].find("1h00m"), std::string::npos) << r.out;
}

TEST_F(CliTest, StatsForOneQueue) {
    enqueue(2, "a");
    enqueue(3, "a", {.queue = "other"});
    auto r = seesaw({"stats", "--queue", "other", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc["queues"].MemberCount(), 1u);
    EXPECT_EQ(doc["queues"]["other"]["pending"].GetInt64(), 3);
    EXPECT_EQ(doc["total"]["pending"].GetInt64(), 3);

    r = seesaw({"stats", "--queue", "empty", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    doc = parse_json(r.out);
    EXPECT_EQ(doc["queues"]["empty"]["pending"].GetInt64(), 0);
    EXPECT_EQ(doc["total"]["pending"].GetInt64(), 0);

    r = seesaw({"stats", "--json"});
    doc = parse_json(r.out);
    EXPECT_EQ(doc["total"]["pending"].GetInt64(), 5);
}

TEST_F(CliTest, StatsWatchRedrawsUntilInterrupted) {
    enqueue(2, "a");
    CliProcess watch({"stats", "--watch", "0.05", "--json", "--database-url", url_, "--schema", schema_});
    auto first = watch.read_line();
    ASSERT_TRUE(first);
    EXPECT_EQ(parse_json(*first)["total"]["pending"].GetInt64(), 2);
    enqueue(1, "a");
    // A later frame shows the new job.
    bool seen = false;
    for (int frame = 0; frame < 1000 && !seen; ++frame) {
        auto line = watch.read_line();
        ASSERT_TRUE(line);
        seen = parse_json(*line)["total"]["pending"].GetInt64() == 3;
    }
    EXPECT_TRUE(seen);
    watch.send_signal(SIGINT);
    auto r = watch.wait();
    EXPECT_EQ(r.status, 0) << r.err;

    auto refused = seesaw({"stats", "--watch", "0"});
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.err.find("--watch"), std::string::npos) << refused.err;
}

// --- jobs --------------------------------------------------------------------

TEST_F(CliTest, JobsListFilters) {
    auto pending = enqueue(3, "alpha");
    auto dead = dead_letters(2, "beta", "q2", "it broke");
    enqueue(4, "gamma", {.queue = "q3"});

    auto ids_of = [&](const std::string& out) {
        auto doc = parse_json(out);
        std::set<std::string> ids;
        EXPECT_TRUE(doc["jobs"].IsArray());
        for (const auto& job : doc["jobs"].GetArray()) ids.insert(job["id"].GetString());
        return ids;
    };
    auto as_set = [](const std::vector<JobId>& ids) {
        std::set<std::string> out;
        for (const auto& id : ids) out.insert(id.to_string());
        return out;
    };

    auto r = seesaw({"jobs", "list", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(ids_of(r.out).size(), 9u);

    r = seesaw({"jobs", "list", "--status", "dead_letter", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(ids_of(r.out), as_set(dead));
    auto doc = parse_json(r.out);
    const auto& job = doc["jobs"][0];
    EXPECT_STREQ(job["type"].GetString(), "beta");
    EXPECT_STREQ(job["queue"].GetString(), "q2");
    EXPECT_STREQ(job["status"].GetString(), "dead_letter");
    EXPECT_STREQ(job["error_message"].GetString(), "it broke");
    EXPECT_STREQ(job["error_kind"].GetString(), "non_retryable");
    EXPECT_EQ(job["attempt"].GetInt(), 1);
    EXPECT_EQ(job["max_retries"].GetInt(), 0);
    EXPECT_TRUE(job["payload"].IsObject());
    EXPECT_TRUE(job["worker_id"].IsString());
    EXPECT_TRUE(job["lease_expires_at"].IsNull());

    r = seesaw({"jobs", "list", "--type", "alpha", "--json"});
    EXPECT_EQ(ids_of(r.out), as_set(pending));
    r = seesaw({"jobs", "list", "--queue", "q3", "--limit", "2", "--json"});
    EXPECT_EQ(ids_of(r.out).size(), 2u);
    r = seesaw({"jobs", "list", "--queue", "q3", "--type", "alpha", "--json"});
    EXPECT_TRUE(ids_of(r.out).empty());

    // The table: a header and one row per job.
    r = seesaw({"jobs", "list", "--status", "pending", "--type", "alpha"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    EXPECT_TRUE(lines[0].starts_with("ID ")) << r.out;
    for (const auto& id : pending) EXPECT_NE(r.out.find(id.to_string()), std::string::npos);
}

TEST_F(CliTest, JobsListRefusesBadFilters) {
    enqueue(1, "a");
    auto r = seesaw({"jobs", "list", "--status", "runing"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("unknown status 'runing'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("pending, running, succeeded, failed, dead_letter or cancelled"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
    r = seesaw({"jobs", "list", "--limit", "0"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("--limit"), std::string::npos) << r.err;
}

TEST_F(CliTest, JobsShowPrintsPayloadAttemptsErrorAndLease) {
    auto ids = enqueue(1, "show_me", {.max_retries = 2});
    auto first = claim(1);
    ASSERT_EQ(first.size(), 1u);
    store_->mark_failed(first[0].lease(), "the API said 503", ErrorKind::retryable);
    sql("UPDATE jobs SET run_at = now()");
    auto second = claim(1);
    ASSERT_EQ(second.size(), 1u);

    auto r = seesaw({"jobs", "show", ids[0].to_string(), "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    auto job = store_->get_job(ids[0]);
    ASSERT_TRUE(job);
    EXPECT_STREQ(doc["id"].GetString(), ids[0].to_string().c_str());
    EXPECT_STREQ(doc["status"].GetString(), "running");
    EXPECT_EQ(doc["attempt"].GetInt(), 2);
    EXPECT_EQ(doc["max_retries"].GetInt(), 2);
    EXPECT_STREQ(doc["error_message"].GetString(), "the API said 503");
    EXPECT_STREQ(doc["error_kind"].GetString(), "retryable");
    EXPECT_STREQ(doc["worker_id"].GetString(), "cli-test-worker");
    EXPECT_STREQ(doc["lease_expires_at"].GetString(), format_timestamp(*job->lease_expires_at).c_str());
    EXPECT_STREQ(doc["run_at"].GetString(), format_timestamp(job->run_at).c_str());
    EXPECT_EQ(doc["payload"]["n"].GetInt(), 0);

    r = seesaw({"jobs", "show", ids[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    // "name:  value" lines.
    auto field = [&](const std::string& name) {
        for (const auto& line : lines_of(r.out)) {
            if (line.starts_with(name + ":")) {
                auto value = line.substr(name.size() + 1);
                return value.substr(value.find_first_not_of(' '));
            }
        }
        return std::string("(missing)");
    };
    EXPECT_EQ(field("id"), ids[0].to_string());
    EXPECT_EQ(field("status"), "running");
    EXPECT_EQ(field("attempts"), "attempt 2 of 3 (max_retries 2)");
    EXPECT_EQ(field("last_error"), "the API said 503");
    EXPECT_EQ(field("lease_holder"), "cli-test-worker");
    EXPECT_EQ(field("lease_expires_at"), format_timestamp(*job->lease_expires_at));
    EXPECT_NE(r.out.find("payload:\n{\n  \"n\": 0\n}"), std::string::npos) << r.out;

    // A finished job has no lease, only the worker that ran it last.
    store_->mark_succeeded(second[0].lease());
    r = seesaw({"jobs", "show", ids[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(field("status"), "succeeded");
    EXPECT_EQ(field("last_worker"), "cli-test-worker");
    EXPECT_EQ(field("lease_holder"), "(missing)");
    EXPECT_EQ(field("lease_expires_at"), "-");
}

TEST_F(CliTest, JobsShowListsTheErrorHistoryOldestFirst) {
    auto store = make_store({.retry_policy = {std::chrono::milliseconds(0), std::chrono::milliseconds(0)}});
    const auto id = store.enqueue(NewJob{"flaky", "{}", {.max_retries = 5}});
    for (const char* message : {"connection refused", "timed out after 30 s"}) {
        auto claimed = store.claim_ready("host-a:1:cafe", 1);
        ASSERT_EQ(claimed.size(), 1u);
        store.mark_failed(claimed[0].lease(), message, ErrorKind::retryable);
    }
    auto shown = seesaw({"jobs", "show", id.to_string()});
    ASSERT_EQ(shown.status, 0) << shown.err;
    const auto history = shown.out.find("errors (oldest first):\n");
    ASSERT_NE(history, std::string::npos) << shown.out;
    const auto first = shown.out.find("  attempt 1  ", history);
    const auto second = shown.out.find("  attempt 2  ", history);
    ASSERT_NE(first, std::string::npos) << shown.out;
    ASSERT_NE(second, std::string::npos) << shown.out;
    EXPECT_LT(first, second);
    EXPECT_NE(shown.out.find("host-a:1:cafe  retryable  connection refused\n", first), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("host-a:1:cafe  retryable  timed out after 30 s\n", second), std::string::npos)
        << shown.out;

    auto json = seesaw({"jobs", "show", id.to_string(), "--json"});
    ASSERT_EQ(json.status, 0) << json.err;
    auto doc = parse_json(json.out);
    ASSERT_TRUE(doc["errors"].IsArray());
    ASSERT_EQ(doc["errors"].Size(), 2u);
    EXPECT_EQ(doc["errors"][1]["attempt"].GetInt(), 2);
    EXPECT_STREQ(doc["errors"][1]["message"].GetString(), "timed out after 30 s");
    EXPECT_STREQ(doc["errors"][1]["kind"].GetString(), "retryable");
    EXPECT_STREQ(doc["errors"][1]["worker_id"].GetString(), "host-a:1:cafe");
    EXPECT_TRUE(doc["errors"][1]["at"].IsString());
}

TEST_F(CliTest, JobsShowRefusesUnknownAndMalformedIds) {
    auto missing = JobId::generate().to_string();
    auto r = seesaw({"jobs", "show", missing});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no job with id " + missing), std::string::npos) << r.err;
    r = seesaw({"jobs", "show", "not-a-uuid"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("not a job id: 'not-a-uuid'"), std::string::npos) << r.err;
}

TEST_F(CliTest, JobsShowCountsSnoozes) {
    auto ids = enqueue(1, "sleepy", {.max_retries = 1});
    // Two runs that snoozed: attempt 3 is the next, and only one run counted so far.
    sql("UPDATE jobs SET attempt = 3, snoozes = 2 WHERE id = $1::uuid", {ids[0].to_string()});
    auto r = seesaw({"jobs", "show", ids[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("attempts:          attempt 3 of 4 (2 snoozed, not counted) (max_retries 1)\n"),
              std::string::npos)
        << r.out;
    r = seesaw({"jobs", "show", ids[0].to_string(), "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc["snoozes"].GetInt(), 2);
    EXPECT_EQ(doc["attempt"].GetInt(), 3);
}

// --- jobs cancel ---------------------------------------------------------------

TEST_F(CliTest, JobsCancelSaysWhatBecameOfEachJob) {
    // Finished jobs first: succeeded() and dead_letters() claim whatever is due in the queue.
    auto done = succeeded(1, "a");
    auto dead = dead_letters(1, "a");
    auto pending = enqueue(1, "a");
    auto running_id = enqueue(1, "r", {.queue = "busy"});
    auto running = claim(1, "busy");
    ASSERT_EQ(running.size(), 1u);
    auto failed_id = enqueue(1, "f", {.max_retries = 3, .queue = "flaky"});
    auto to_fail = claim(1, "flaky");
    ASSERT_EQ(to_fail.size(), 1u);
    store_->mark_failed(to_fail[0].lease(), "try again", ErrorKind::retryable);
    ASSERT_EQ(status_of(failed_id[0]), "failed");

    auto r = seesaw({"jobs", "cancel", pending[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, pending[0].to_string() + " cancelled (was pending)\n");
    EXPECT_TRUE(r.err.empty()) << r.err;
    auto shown = seesaw({"jobs", "show", pending[0].to_string(), "--json"});
    ASSERT_EQ(shown.status, 0) << shown.err;
    EXPECT_STREQ(parse_json(shown.out)["status"].GetString(), "cancelled");
    EXPECT_EQ(status_of(pending[0]), "cancelled");

    // A finished job is left as it was, and that is not an error.
    r = seesaw({"jobs", "cancel", done[0].to_string()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, done[0].to_string() + " not cancelled: already succeeded\n");
    EXPECT_EQ(status_of(done[0]), "succeeded");

    // One line per id, in the order given.
    r = seesaw({"jobs", "cancel", running_id[0].to_string(), dead[0].to_string(), failed_id[0].to_string(),
                pending[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, running_id[0].to_string() + " cancelled (was running)\n" + dead[0].to_string() +
                         " not cancelled: already dead_letter\n" + failed_id[0].to_string() +
                         " cancelled (was failed)\n" + pending[0].to_string() +
                         " not cancelled: already cancelled\n");
    EXPECT_EQ(status_of(running_id[0]), "cancelled");
    EXPECT_EQ(status_of(failed_id[0]), "cancelled");
    EXPECT_EQ(status_of(dead[0]), "dead_letter");
    EXPECT_EQ(count("status = 'cancelled' AND lease_expires_at IS NULL"), 3) << "a cancelled job holds no lease";
    EXPECT_EQ(store_->stats().cancelled, 3);
}

TEST_F(CliTest, JobsCancelWithAnUnknownOrMalformedIdCancelsNone) {
    auto known = enqueue(2, "a");
    const auto unknown = JobId::generate().to_string();

    auto r = seesaw({"jobs", "cancel", known[0].to_string(), unknown});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no job with id " + unknown), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was cancelled"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(known[0].to_string()), std::string::npos) << "only the unknown id is named: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(status_of(known[0]), "pending") << "all or nothing";

    r = seesaw({"jobs", "cancel", unknown});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no job with id " + unknown), std::string::npos) << r.err;

    r = seesaw({"jobs", "cancel", known[0].to_string(), "not-a-uuid", known[1].to_string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("not a job id: 'not-a-uuid'"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;

    r = seesaw({"jobs", "cancel", known[1].to_string(), "--json", unknown});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(r.out.empty()) << "no JSON for a refused call: " << r.out;

    EXPECT_EQ(count("status = 'pending'"), 2);
    EXPECT_EQ(count("status = 'cancelled'"), 0);
}

TEST_F(CliTest, JobsCancelJsonAndDuplicateIds) {
    auto done = succeeded(1, "a");
    auto pending = enqueue(2, "a");

    auto r = seesaw({"jobs", "cancel", pending[1].to_string(), done[0].to_string(), pending[1].to_string(),
                     pending[0].to_string(), "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one document on one line";
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc.MemberCount(), 1u);
    ASSERT_TRUE(doc["jobs"].IsArray());
    ASSERT_EQ(doc["jobs"].Size(), 3u) << "a repeated id is cancelled (and reported) once: " << r.out;
    struct Expected {
        std::string id;
        bool cancelled;
        std::string previous;
    };
    const std::vector<Expected> expected = {{pending[1].to_string(), true, "pending"},
                                            {done[0].to_string(), false, "succeeded"},
                                            {pending[0].to_string(), true, "pending"}};
    for (rapidjson::SizeType i = 0; i < doc["jobs"].Size(); ++i) {
        const auto& job = doc["jobs"][i];
        EXPECT_EQ(job.MemberCount(), 3u);
        EXPECT_STREQ(job["id"].GetString(), expected[i].id.c_str()) << i;
        ASSERT_TRUE(job["cancelled"].IsBool()) << i;
        EXPECT_EQ(job["cancelled"].GetBool(), expected[i].cancelled) << i;
        EXPECT_STREQ(job["previous_status"].GetString(), expected[i].previous.c_str()) << i;
    }
    EXPECT_EQ(count("status = 'cancelled'"), 2);

    // The same id twice in the text output: one line.
    auto again = enqueue(1, "b");
    r = seesaw({"jobs", "cancel", again[0].to_string(), again[0].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, again[0].to_string() + " cancelled (was pending)\n");
    EXPECT_EQ(store_->stats().cancelled, 3) << "counted once";
}

TEST_F(CliTest, JobsCancelByTypeAndQueueCancelsOnlyMatchingUnfinishedJobs) {
    auto done = succeeded(2, "a");          // default: 2 succeeded a
    auto dead = dead_letters(1, "a", "q2"); // q2: 1 dead-lettered a
    enqueue(3, "a");                        // default: 3 pending a
    enqueue(2, "a", {.queue = "q2"});       // q2: 2 pending a
    enqueue(4, "b");                        // default: 4 pending b
    enqueue(1, "b", {.queue = "q2"});       // q2: 1 pending b
    auto running_id = enqueue(1, "a", {.queue = "q3"});
    ASSERT_EQ(claim(1, "q3").size(), 1u);   // q3: 1 running a

    auto r = seesaw({"jobs", "cancel", "--type", "a", "--queue", "q2"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "cancelled 2 jobs\n");
    EXPECT_EQ(count("status = 'cancelled'"), 2);
    EXPECT_EQ(count("status = 'cancelled' AND job_type = 'a' AND queue = 'q2'"), 2);

    r = seesaw({"jobs", "cancel", "--type", "a"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "cancelled 4 jobs\n") << "3 pending in default and the running one in q3";
    EXPECT_EQ(status_of(running_id[0]), "cancelled");
    for (const auto& id : done) EXPECT_EQ(status_of(id), "succeeded");
    EXPECT_EQ(status_of(dead[0]), "dead_letter");
    EXPECT_EQ(count("job_type = 'b' AND status = 'pending'"), 5) << "another type is untouched";

    r = seesaw({"jobs", "cancel", "--queue", "q2", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc.MemberCount(), 1u) << r.out;
    ASSERT_TRUE(doc["cancelled"].IsUint64()) << r.out;
    EXPECT_EQ(doc["cancelled"].GetUint64(), 1u) << "the one b in q2";
    EXPECT_EQ(count("job_type = 'b' AND status = 'pending' AND queue = 'default'"), 4);

    r = seesaw({"jobs", "cancel", "--queue", "q2"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "cancelled 0 jobs\n");
    r = seesaw({"jobs", "cancel", "--queue", "default", "--type", "b"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "cancelled 4 jobs\n");
    r = seesaw({"jobs", "cancel", "--type", "nobody", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(parse_json(r.out)["cancelled"].GetUint64(), 0u);

    EXPECT_EQ(count("status = 'cancelled'"), 11);
    EXPECT_EQ(count("status = 'succeeded'"), 2);
    EXPECT_EQ(count("status = 'dead_letter'"), 1);
    EXPECT_EQ(count(), 14);
}

TEST_F(CliTest, JobsCancelUsageErrors) {
    auto ids = enqueue(1, "a", {.queue = "q"});
    struct Case {
        std::vector<std::string> args;
        int status;
        std::string message;
    };
    for (const auto& c : std::vector<Case>{
             {{"jobs", "cancel"}, 2, "jobs cancel needs job ids, or --type and/or --queue"},
             {{"jobs", "cancel", "--json"}, 2, "jobs cancel needs job ids, or --type and/or --queue"},
             {{"jobs", "cancel", ids[0].to_string(), "--type", "a"}, 2, "--type"},
             {{"jobs", "cancel", ids[0].to_string(), "--queue", "q"}, 2, "--queue"},
             {{"jobs", "cancel", "--queue", ""}, 1, "--queue must not be empty"},
             {{"jobs", "cancel", "--type", ""}, 1, "--type must not be empty"},
             {{"jobs", "cancel", "--queue", std::string(129, 'q')}, 1,
              "--queue is 129 bytes long; at most 128 are allowed"},
             {{"jobs", "cancel", "--type", "a", "--queue", std::string(129, 'q')}, 1,
              "--queue is 129 bytes long"}}) {
        auto r = seesaw(c.args);
        std::string shown;
        for (const auto& arg : c.args) shown += " " + arg.substr(0, 40);
        EXPECT_EQ(r.status, c.status) << shown << ": " << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos)
            << shown << ": expected '" << c.message << "' in: " << r.err;
        EXPECT_TRUE(r.out.empty()) << shown << ": " << r.out;
    }
    EXPECT_EQ(status_of(ids[0]), "pending");
}

// --- queues --------------------------------------------------------------------

TEST_F(CliTest, QueuesPauseAndResumeSayWhetherTheyChangedIt) {
    auto paused = [&] { return count_paused("mail"); };
    auto r = seesaw({"queues", "pause", "mail"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "queue 'mail' paused\n");
    EXPECT_EQ(paused(), 1);

    r = seesaw({"queues", "pause", "mail"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "queue 'mail' was already paused\n");
    EXPECT_EQ(paused(), 1);

    r = seesaw({"queues", "resume", "mail"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "queue 'mail' resumed\n");
    EXPECT_EQ(paused(), 0);

    r = seesaw({"queues", "resume", "mail"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "queue 'mail' was not paused\n");
    EXPECT_EQ(paused(), 0);

    // A paused queue takes enqueues; no claim starts its jobs until it is resumed.
    ASSERT_EQ(seesaw({"queues", "pause", "mail"}).status, 0);
    auto r2 = seesaw({"enqueue", "send", "{}", "--queue", "mail"});
    ASSERT_EQ(r2.status, 0) << r2.err;
    EXPECT_EQ(count("queue = 'mail' AND status = 'pending'"), 1);
    EXPECT_TRUE(claim(10, "mail").empty());
    ASSERT_EQ(seesaw({"queues", "resume", "mail"}).status, 0);
    EXPECT_EQ(claim(10, "mail").size(), 1u);
}

TEST_F(CliTest, QueuesListShowsPausedQueuesAndTheirCounts) {
    enqueue(2, "a");                                  // default: 2 pending
    succeeded(1, "m", "mail");                        // mail: 1 succeeded...
    dead_letters(1, "m", "mail");                     // ...1 dead-lettered...
    enqueue(3, "m", {.queue = "mail"});               // ...3 pending...
    auto mail = enqueue(1, "m", {.queue = "mail"});
    ASSERT_TRUE(store_->cancel(mail[0]).cancelled);   // ...and 1 cancelled
    ASSERT_EQ(seesaw({"queues", "pause", "mail"}).status, 0);
    ASSERT_EQ(seesaw({"queues", "pause", "idle"}).status, 0);  // a queue with no jobs

    auto infos = store_->queues();
    std::map<std::string, QueueInfo> info;
    for (const auto& q : infos) info[q.name] = q;
    ASSERT_TRUE(info["mail"].paused_at && info["idle"].paused_at);

    auto r = seesaw({"queues", "list", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one document on one line";
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc["queues"].IsArray());
    ASSERT_EQ(doc["queues"].Size(), 3u) << r.out;
    const auto& def = doc["queues"][0];
    const auto& idle = doc["queues"][1];
    const auto& mail_json = doc["queues"][2];
    EXPECT_STREQ(def["name"].GetString(), "default");
    EXPECT_STREQ(idle["name"].GetString(), "idle");
    EXPECT_STREQ(mail_json["name"].GetString(), "mail");
    EXPECT_FALSE(def["paused"].GetBool());
    EXPECT_TRUE(def["paused_at"].IsNull());
    EXPECT_TRUE(idle["paused"].GetBool());
    EXPECT_STREQ(idle["paused_at"].GetString(), format_timestamp(*info["idle"].paused_at).c_str());
    EXPECT_TRUE(mail_json["paused"].GetBool());
    EXPECT_STREQ(mail_json["paused_at"].GetString(), format_timestamp(*info["mail"].paused_at).c_str());
    struct Counts {
        const rapidjson::Value& json;
        std::vector<std::int64_t> expected;  // pending, running, succeeded, failed, dead_letter, cancelled
    };
    for (const auto& [json, expected] : std::vector<Counts>{{def, {2, 0, 0, 0, 0, 0}},
                                                             {idle, {0, 0, 0, 0, 0, 0}},
                                                             {mail_json, {3, 0, 1, 0, 1, 1}}}) {
        const auto& counts = json["counts"];
        ASSERT_TRUE(counts.IsObject()) << json["name"].GetString();
        EXPECT_EQ(counts.MemberCount(), 6u);
        int i = 0;
        for (const char* state : {"pending", "running", "succeeded", "failed", "dead_letter", "cancelled"}) {
            ASSERT_TRUE(counts[state].IsInt64()) << state;
            EXPECT_EQ(counts[state].GetInt64(), expected[static_cast<std::size_t>(i++)])
                << json["name"].GetString() << " " << state;
        }
    }

    // The table: a header, one row per queue, and a summary line.
    r = seesaw({"queues", "list"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    EXPECT_TRUE(lines[0].starts_with("QUEUE ")) << r.out;
    EXPECT_NE(lines[0].find("PAUSED"), std::string::npos) << r.out;
    EXPECT_NE(lines[0].find("CANCELLED"), std::string::npos) << r.out;
    auto words = [](const std::string& line) {
        std::vector<std::string> out;
        std::istringstream in(line);
        for (std::string word; in >> word;) out.push_back(word);
        return out;
    };
    // PAUSED_SINCE is a date and a time: two words.
    EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"default", "no", "-", "2", "0", "0", "0", "0", "0"})) << r.out;
    auto idle_row = words(lines[2]);
    ASSERT_EQ(idle_row.size(), 10u) << r.out;
    EXPECT_EQ(idle_row[0], "idle");
    EXPECT_EQ(idle_row[1], "yes");
    EXPECT_EQ(std::vector<std::string>(idle_row.begin() + 4, idle_row.end()),
              (std::vector<std::string>{"0", "0", "0", "0", "0", "0"}))
        << r.out;
    auto mail_row = words(lines[3]);
    ASSERT_EQ(mail_row.size(), 10u) << r.out;
    EXPECT_EQ(mail_row[0], "mail");
    EXPECT_EQ(mail_row[1], "yes");
    EXPECT_EQ(std::vector<std::string>(mail_row.begin() + 4, mail_row.end()),
              (std::vector<std::string>{"3", "0", "1", "0", "1", "1"}))
        << r.out;
    EXPECT_EQ(lines[4], "3 queues, 2 paused");

    // stats: every queue says whether it is paused; the idle one is listed too.
    r = seesaw({"stats", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    doc = parse_json(r.out);
    ASSERT_TRUE(doc["queues"].IsObject());
    EXPECT_EQ(doc["queues"].MemberCount(), 3u) << r.out;
    ASSERT_TRUE(doc["queues"].HasMember("idle")) << r.out;
    EXPECT_TRUE(doc["queues"]["idle"]["paused"].GetBool());
    EXPECT_TRUE(doc["queues"]["mail"]["paused"].GetBool());
    EXPECT_FALSE(doc["queues"]["default"]["paused"].GetBool());
    EXPECT_EQ(doc["queues"]["mail"]["cancelled"].GetInt64(), 1);
    EXPECT_EQ(doc["total"]["cancelled"].GetInt64(), 1);
    EXPECT_FALSE(doc["total"].HasMember("paused"));

    r = seesaw({"stats", "--queue", "idle", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    doc = parse_json(r.out);
    EXPECT_EQ(doc["queues"].MemberCount(), 1u) << r.out;
    EXPECT_TRUE(doc["queues"]["idle"]["paused"].GetBool()) << r.out;

    r = seesaw({"stats"});
    ASSERT_EQ(r.status, 0) << r.err;
    lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    EXPECT_EQ(words(lines[2])[0], "idle") << r.out;
    EXPECT_EQ(words(lines[2])[1], "yes") << r.out;
    EXPECT_EQ(words(lines[1])[1], "no") << r.out;
    EXPECT_EQ(words(lines[4])[0], "TOTAL") << r.out;
    for (const auto& line : lines) EXPECT_EQ(line.size(), lines[0].size()) << r.out;

    // Resumed and without jobs, a queue is no longer listed.
    ASSERT_EQ(seesaw({"queues", "resume", "idle"}).status, 0);
    r = seesaw({"queues", "list", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    doc = parse_json(r.out);
    ASSERT_EQ(doc["queues"].Size(), 2u) << r.out;
    EXPECT_STREQ(doc["queues"][1]["name"].GetString(), "mail");
}

TEST_F(CliTest, QueuesRefuseBadNamesAndWriteNothing) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::string too_long(129, 'q');
    for (const auto& c : std::vector<Case>{
             {{"queues", "pause", ""}, "the queue name must not be empty"},
             {{"queues", "resume", ""}, "the queue name must not be empty"},
             {{"queues", "pause", too_long}, "the queue name is 129 bytes long; at most 128 are allowed"},
             {{"queues", "resume", too_long}, "the queue name is 129 bytes long; at most 128 are allowed"},
             {{"queues", "pause", "caf\xC3"}, "the queue name is not valid UTF-8"}}) {
        auto r = seesaw(c.args);
        EXPECT_EQ(r.status, 1) << c.message << ": " << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_EQ(sql("SELECT count(*) FROM queue_pauses").get_int64(0, 0), 0);

    // No name at all is a usage error.
    auto r = seesaw({"queues", "pause"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("QUEUE"), std::string::npos) << r.err;
    EXPECT_EQ(seesaw({"queues"}).status, 2);
    EXPECT_EQ(sql("SELECT count(*) FROM queue_pauses").get_int64(0, 0), 0);

    // 128 bytes is the longest name allowed.
    const std::string longest(128, 'q');
    r = seesaw({"queues", "pause", longest});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "queue '" + longest + "' paused\n");
    EXPECT_EQ(count_paused(longest), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM queue_pauses").get_int64(0, 0), 1);
}

// --- dead-letter -------------------------------------------------------------

TEST_F(CliTest, DeadLetterListShowsTheErrors) {
    auto dead = dead_letters(3, "fragile", "default", "disk full\nsecond line");
    enqueue(2, "fine");
    auto r = seesaw({"dead-letter", "list", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc["dead_letters"].IsArray());
    ASSERT_EQ(doc["dead_letters"].Size(), 3u);
    std::set<std::string> ids;
    for (const auto& job : doc["dead_letters"].GetArray()) {
        ids.insert(job["id"].GetString());
        EXPECT_STREQ(job["status"].GetString(), "dead_letter");
        EXPECT_STREQ(job["error_message"].GetString(), "disk full\nsecond line");
        EXPECT_STREQ(job["type"].GetString(), "fragile");
    }
    for (const auto& id : dead) EXPECT_TRUE(ids.contains(id.to_string()));

    r = seesaw({"dead-letter", "list"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;  // header, 3 rows, count
    EXPECT_NE(lines[1].find("disk full second line"), std::string::npos) << "one line per job:\n" << r.out;
    EXPECT_EQ(lines[4], "3 dead-lettered jobs");
}

TEST_F(CliTest, DeadLetterRetryIdsInOneTransaction) {
    auto dead = dead_letters(3, "x");
    auto r = seesaw({"dead-letter", "retry", dead[0].to_string(), dead[2].to_string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "retried 2 jobs");
    EXPECT_EQ(status_of(dead[0]), "pending");
    EXPECT_EQ(status_of(dead[1]), "dead_letter");
    EXPECT_EQ(status_of(dead[2]), "pending");
    EXPECT_EQ(count("status = 'pending' AND attempt = 1 AND run_at <= now()"), 2);
    EXPECT_EQ(store_->stats().dead_letter, 1);
}

TEST_F(CliTest, DeadLetterRetryWithABadIdWritesNothing) {
    auto dead = dead_letters(2, "x");
    auto alive = enqueue(1, "y");
    auto unknown = JobId::generate().to_string();

    auto r = seesaw({"dead-letter", "retry", dead[0].to_string(), unknown});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no job with id " + unknown), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was retried"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;

    r = seesaw({"dead-letter", "retry", dead[1].to_string(), alive[0].to_string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("job " + alive[0].to_string() + " is pending, not in the dead letter queue"),
              std::string::npos)
        << r.err;

    r = seesaw({"dead-letter", "retry", dead[0].to_string(), "garbage"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("not a job id: 'garbage'"), std::string::npos) << r.err;

    EXPECT_EQ(count("status = 'dead_letter'"), 2);
}

TEST_F(CliTest, DeadLetterRetryAllOn1000Jobs) {
    dead_letters(1000, "batch");
    dead_letters(10, "other", "q2");

    auto r = seesaw({"dead-letter", "retry", "--all", "--type", "other"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "retried 10 jobs");
    EXPECT_EQ(count("status = 'dead_letter'"), 1000);

    r = seesaw({"dead-letter", "retry", "--all"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "retried 1000 jobs");
    EXPECT_EQ(count("status = 'dead_letter'"), 0);
    EXPECT_EQ(count("status = 'pending' AND attempt = 1"), 1010);
    auto stats = store_->stats();
    EXPECT_EQ(stats.pending, 1010);
    EXPECT_EQ(stats.dead_letter, 0);
    EXPECT_EQ(claim(2000).size(), 1000u) << "retried jobs are due at once";

    r = seesaw({"dead-letter", "retry", "--all"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "retried 0 jobs");
}

TEST_F(CliTest, DeadLetterRetryUsageErrors) {
    auto dead = dead_letters(1, "x");
    for (const auto& args : std::vector<std::vector<std::string>>{{"dead-letter", "retry"},
                                                                 {"dead-letter", "retry", dead[0].to_string(), "--all"},
                                                                 {"dead-letter", "retry", "--type", "x"},
                                                                 {"dead-letter"}}) {
        auto r = seesaw(args);
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_FALSE(r.err.empty());
    }
    EXPECT_EQ(count("status = 'dead_letter'"), 1);
}

// --- cleanup and reclaim -------------------------------------------------------

TEST_F(CliTest, CleanupDeletesOldFinishedJobs) {
    auto old_done = succeeded(3, "a");
    auto new_done = succeeded(2, "a");
    auto old_dead = dead_letters(4, "b", "q2");
    enqueue(1, "c");
    sql("UPDATE jobs SET updated_at = now() - interval '8 days' WHERE id = ANY ($1::uuid[])",
        {"{" + old_done[0].to_string() + "," + old_done[1].to_string() + "," + old_done[2].to_string() + "}"});
    sql("UPDATE jobs SET updated_at = now() - interval '3 hours' WHERE job_type = 'b'");

    auto r = seesaw({"cleanup", "--older-than", "7d"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "deleted 3 succeeded jobs last updated more than 7d ago");
    EXPECT_EQ(count("status = 'succeeded'"), 2);

    r = seesaw({"cleanup", "--older-than", "4h", "--status", "dead_letter"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "deleted 0 dead_letter jobs last updated more than 4h ago");
    r = seesaw({"cleanup", "--older-than", "120m", "--status", "dead_letter"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "deleted 4 dead_letter jobs last updated more than 2h ago");
    EXPECT_EQ(count(), 3);
    EXPECT_EQ(store_->stats().dead_letter, 0);
    (void)new_done;
    (void)old_dead;
}

TEST_F(CliTest, CleanupRefusesBadInput) {
    succeeded(1, "a");
    sql("UPDATE jobs SET updated_at = now() - interval '30 days'");
    struct Case {
        std::vector<std::string> args;
        int status;
        std::string message;
    };
    for (const auto& c : std::vector<Case>{
             {{"cleanup", "--older-than", "7x"}, 1, "--older-than '7x': the unit must be s, m, h or d"},
             {{"cleanup", "--older-than", "d"}, 1, "--older-than 'd'"},
             {{"cleanup", "--older-than", "-1d"}, 1, "--older-than '-1d'"},
             {{"cleanup", "--older-than", "7d", "--status", "pending"}, 1,
              "finished jobs only (succeeded, dead_letter or cancelled), not pending"},
             {{"cleanup", "--older-than", "7d", "--status", "done"}, 1, "unknown status 'done'"},
             {{"cleanup"}, 2, "--older-than is required"}}) {
        auto r = seesaw(c.args);
        EXPECT_EQ(r.status, c.status) << c.message << ": " << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
    }
    EXPECT_EQ(count(), 1);
}

TEST_F(CliTest, CleanupDeletesCancelledJobsOnly) {
    auto done = succeeded(1, "a");
    auto dead = dead_letters(1, "a");
    auto doomed = enqueue(3, "a");
    auto kept = enqueue(1, "a");
    ASSERT_EQ(store_->cancel(doomed).size(), 3u);
    ASSERT_EQ(count("status = 'cancelled'"), 3);

    auto r = seesaw({"cleanup", "--older-than", "0s", "--status", "cancelled"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "deleted 3 cancelled jobs last updated more than 0s ago");
    EXPECT_EQ(count("status = 'cancelled'"), 0);
    EXPECT_EQ(count(), 3);
    EXPECT_EQ(status_of(kept[0]), "pending");
    EXPECT_EQ(status_of(done[0]), "succeeded");
    EXPECT_EQ(status_of(dead[0]), "dead_letter");
    EXPECT_EQ(store_->stats().cancelled, 0);

    r = seesaw({"cleanup", "--older-than", "0s", "--status", "cancelled"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "deleted 0 cancelled jobs last updated more than 0s ago");
}

TEST_F(CliTest, ReclaimCountsExpiredLeases) {
    enqueue(3, "a", {.max_retries = 1});
    auto jobs = claim(3);
    ASSERT_EQ(jobs.size(), 3u);
    // Two leases ran out (as if their worker died); one is still held.
    sql("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id IN ($1::uuid, $2::uuid)",
        {jobs[0].id.to_string(), jobs[1].id.to_string()});

    auto r = seesaw({"reclaim"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "reclaimed 2 jobs whose lease expired");
    EXPECT_EQ(count("status = 'failed' AND attempt = 2 AND error_message LIKE 'lease expired%'"), 2);
    EXPECT_EQ(count("status = 'running'"), 1);

    r = seesaw({"reclaim"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(trimmed(r.out), "reclaimed 0 jobs whose lease expired");
}

#ifdef SEESAW_DEMO_PATH
// `seesaw-demo summary ARGS`: its output, checked to exit 0 and say the
// exactly-once check holds.
std::string demo_summary_checked(const std::vector<std::string>& args) {
    CliProcess summary(args, SEESAW_DEMO_PATH);
    std::string out;
    while (auto line = summary.read_line()) out += *line + "\n";
    auto summarized = summary.wait();
    EXPECT_EQ(summarized.status, 0) << out << summarized.err;
    EXPECT_NE(out.find("exactly once    OK"), std::string::npos) << out;
    return out;
}

// Two `seesaw-demo worker`s started together on a fresh schema: both create
// the demo's table if missing, and both must come up (CREATE TABLE IF NOT
// EXISTS alone fails one of them with a unique violation).
TEST_F(CliTest, TwoDemoWorkersStartedTogetherBothRun) {
    const std::vector<std::string> args{"worker", "--database-url", url_, "--schema", schema_, "--workers", "1"};
    CliProcess first(args, SEESAW_DEMO_PATH);
    CliProcess second(args, SEESAW_DEMO_PATH);
    // Each registers in listeners once it runs; a worker that failed to
    // start never does.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (sql("SELECT count(DISTINCT listener) FROM listeners").get_int64(0, 0) < 2 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    first.send_signal(SIGTERM);
    second.send_signal(SIGTERM);
    auto a = first.wait();
    auto b = second.wait();
    EXPECT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(b.status, 0) << b.err;
}
// The demo as a user breaks it: two workers, a producer waiting for the end,
// one worker killed with SIGKILL halfway. Every job still ends, and the
// summary's exactly-once check passes (it reports what the killed worker
// could not record instead of failing).
TEST_F(CliTest, DemoExactlyOnceCheckHoldsWhenAWorkerIsKilled) {
    const std::vector<std::string> where{"--database-url", url_, "--schema", schema_};
    auto demo_args = [&](std::vector<std::string> args) {
        args.insert(args.end(), where.begin(), where.end());
        return args;
    };
    CliProcess victim(demo_args({"worker", "--workers", "2"}), SEESAW_DEMO_PATH);
    CliProcess survivor(demo_args({"worker", "--workers", "2"}), SEESAW_DEMO_PATH);
    auto wait_for = [&](const std::string& query, std::int64_t at_least) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (sql(query).get_int64(0, 0) < at_least && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return sql(query).get_int64(0, 0) >= at_least;
    };
    ASSERT_TRUE(wait_for("SELECT count(DISTINCT listener) FROM listeners", 2));

    CliProcess producer(demo_args({"enqueue", "3000", "--wait"}), SEESAW_DEMO_PATH);
    ASSERT_TRUE(wait_for("SELECT count(*) FROM jobs WHERE status = 'succeeded'", 500));
    victim.send_signal(SIGKILL);
    EXPECT_EQ(victim.wait().status, 128 + SIGKILL);

    auto produced = producer.wait();
    EXPECT_EQ(produced.status, 0) << produced.err;
    // (The periodic demo_tick jobs keep coming, one a second.)
    EXPECT_EQ(count("status NOT IN ('succeeded', 'dead_letter') AND queue <> 'ticks'"), 0);
    survivor.send_signal(SIGTERM);
    auto stopped = survivor.wait();
    EXPECT_EQ(stopped.status, 0) << stopped.err;

    const auto out = demo_summary_checked(demo_args({"summary"}));
    EXPECT_NE(out.find("killed workers  1"), std::string::npos) << out;
}
#endif

// The issue's report, as a user meets it: seesaw-demo workers pointed at
// PgBouncer in transaction mode (SEESAW_TEST_PGBOUNCER_URL, which
// scripts/test.sh starts) ran none of 2,000 jobs. Now, with
// --transaction-pooling: one worker with a direct listener, one polling
// only, both through the pooler; every job runs exactly once.
#ifdef SEESAW_DEMO_PATH
TEST_F(CliTest, DemoWorkersRunEveryJobThroughPgBouncerInTransactionMode) {
    const char* pooler = std::getenv("SEESAW_TEST_PGBOUNCER_URL");
    if (pooler == nullptr || *pooler == '\0') GTEST_SKIP() << "SEESAW_TEST_PGBOUNCER_URL is not set (scripts/test.sh sets it)";
    const std::vector<std::string> where{"--database-url", pooler, "--schema", schema_};
    auto demo_args = [&](std::vector<std::string> args) {
        args.insert(args.end(), where.begin(), where.end());
        return args;
    };
    CliProcess listening(demo_args({"worker", "--workers", "2", "--transaction-pooling", "--listen-database-url", url_}),
                         SEESAW_DEMO_PATH);
    CliProcess polling(demo_args({"worker", "--workers", "2", "--transaction-pooling", "--poll-only",
                                  "--poll-interval", "100"}), SEESAW_DEMO_PATH);
    auto wait_for = [&](const std::string& query, std::int64_t at_least) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (sql(query).get_int64(0, 0) < at_least && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return sql(query).get_int64(0, 0) >= at_least;
    };
    // (The workers create the demo's tables as they start.)
    ASSERT_TRUE(wait_for("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                         " AND tablename = 'demo_workers'", 1));
    ASSERT_TRUE(wait_for("SELECT count(*) FROM demo_workers", 2));
    CliProcess producer(demo_args({"enqueue", "2000", "--wait"}), SEESAW_DEMO_PATH);
    auto produced = producer.wait();
    EXPECT_EQ(produced.status, 0) << produced.err;
    EXPECT_EQ(count("status NOT IN ('succeeded', 'dead_letter') AND queue <> 'ticks'"), 0);
    for (auto* worker : {&listening, &polling}) {
        worker->send_signal(SIGTERM);
        auto stopped = worker->wait();
        EXPECT_EQ(stopped.status, 0) << stopped.err;
        EXPECT_EQ(stopped.err.find("does not exist"), std::string::npos) << stopped.err;
    }
    EXPECT_EQ(sql("SELECT count(DISTINCT worker) FROM demo_runs").get_int64(0, 0), 2) << "each worker ran jobs";

    demo_summary_checked(demo_args({"summary"}));
}
#endif

// libpq quotes the malformed part of a URL, password and all: the tool must
// say what is wrong without printing it.
TEST_F(CliTest, AMalformedDatabaseUrlIsReportedWithoutItsPassword) {
    auto cases = malformed_conninfos(url_);
    ASSERT_FALSE(cases.empty()) << "these cases need the test database as a postgresql:// URL";
    for (const auto& bad : cases) {
        auto r = run_cli({"stats", "--database-url", bad.conninfo, "--schema", schema_});
        EXPECT_EQ(r.status, 1) << bad.conninfo;
        EXPECT_EQ(r.out.find(bad.password), std::string::npos) << r.out;
        EXPECT_EQ(r.err.find(bad.password), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("cannot connect to the database"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(bad.reason), std::string::npos) << r.err;
    }
}

// `jobs show` pretty-prints a payload in space linear in its size however
// deep it nests. The deepest payload PostgreSQL stores is found by
// bisection: jsonb's parser recurses, bounded by max_stack_depth (about
// 14,500 levels with the default 2 MB).
TEST_F(CliTest, JobsShowPrintsTheDeepestPayloadPostgresqlStoresInLinearSpace) {
    auto payload_of = [](int depth) {
        return "{\"a\":" + std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']') + "}";
    };
    int stored = 0;
    int refused = 50'001;
    std::string id;  // of the deepest payload stored
    while (refused - stored > 1) {
        const int depth = stored + (refused - stored) / 2;
        try {
            auto row = sql("INSERT INTO jobs (job_type, payload) VALUES ('deep', $1::jsonb) RETURNING id::text",
                           {payload_of(depth)});
            id = std::string(row.get(0, 0));
            stored = depth;
        } catch (const SqlError& e) {
            ASSERT_EQ(e.sqlstate(), "54001") << e.what();  // stack depth limit exceeded
            refused = depth;
        }
    }
    ASSERT_GT(stored, 1000);
    const auto payload = payload_of(stored);

    auto r = seesaw({"jobs", "show", id});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto at = r.out.find("payload:\n");
    ASSERT_NE(at, std::string::npos) << r.out.substr(0, 2000);
    const auto shown = r.out.substr(at + 9);
    EXPECT_LT(shown.size(), 2 * payload.size()) << "depth " << stored;
    std::string without_spaces;
    std::copy_if(shown.begin(), shown.end(), std::back_inserter(without_spaces),
                 [](char c) { return c != ' ' && c != '\n'; });
    EXPECT_EQ(without_spaces, payload);
    EXPECT_TRUE(shown.starts_with("{\n  \"a\": [\n    [\n")) << shown.substr(0, 200);

    r = seesaw({"jobs", "show", id, "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\"payload\":" + payload + "}"), std::string::npos) << "depth " << stored;
}

TEST_F(CliTest, DeadLetterListIsEveryDeadLetterTheLongestDeadFirst) {
    // More than the store's default page of 100, dead in another order than
    // they were created.
    auto dead = dead_letters(150, "fragile");
    sql("UPDATE jobs SET updated_at = now() -"
        " (SELECT count(*) FROM jobs AS o WHERE o.id < jobs.id) * interval '1 second'");
    auto r = seesaw({"dead-letter", "list", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc["dead_letters"].IsArray());
    ASSERT_EQ(doc["dead_letters"].Size(), 150u);
    std::vector<std::string> listed;
    for (const auto& job : doc["dead_letters"].GetArray()) listed.emplace_back(job["id"].GetString());
    // The largest id was updated longest ago.
    std::vector<std::string> expected;
    for (const auto& id : dead) expected.push_back(id.to_string());
    std::sort(expected.rbegin(), expected.rend());
    EXPECT_EQ(listed, expected);

    r = seesaw({"dead-letter", "list"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lines_of(r.out).back(), "150 dead-lettered jobs");
}

}  // namespace
}  // namespace seesaw::test

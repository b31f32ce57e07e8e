// seesaw enqueue TYPE JSON [--queue Q] [--priority P] [--run-at ISO8601|+30s] [--max-retries N]
//                [--unique-key K [--unique-for DURATION]]
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/job_traits.hpp"
#include "seesaw/core/limits.hpp"

namespace seesaw::cli {
namespace {

// Jobs per INSERT statement when reading stdin.
constexpr std::size_t stdin_batch = 5000;

struct EnqueueArgs {
    std::string job_type;
    std::string json;
    std::string queue = std::string(default_queue);
    std::int32_t priority = 0;
    std::optional<std::string> run_at;
    std::int32_t max_retries = 3;
    std::optional<std::string> unique_key;
    std::optional<std::string> unique_for;
};

// Everything but the payload, checked before the database is touched.
EnqueueOptions checked_options(const EnqueueArgs& args) {
    if (args.job_type.empty()) throw UserError("TYPE must not be empty");
    if (args.queue.empty()) throw UserError("--queue must not be empty");
    if (args.max_retries < 0)
        throw UserError("--max-retries must be 0 or more, got " + std::to_string(args.max_retries));
    EnqueueOptions options;
    options.queue = args.queue;
    options.priority = args.priority;
    options.max_retries = args.max_retries;
    if (args.run_at) {
        auto run_at = parse_run_at(*args.run_at);
        options.run_at = run_at.at;  // a time in the past is due at once
        options.delay = run_at.delay;
    }
    if (args.unique_for && !args.unique_key) throw UserError("--unique-for needs --unique-key");
    if (args.unique_key) {
        if (args.unique_key->empty()) throw UserError("--unique-key must not be empty");
        options.unique_key = *args.unique_key;
        if (args.unique_for) {
            options.unique_for = parse_duration(*args.unique_for, "--unique-for");
            if (options.unique_for->count() <= 0)
                throw UserError("--unique-for must be positive, got '" + *args.unique_for + "'");
        }
    }
    try {
        validate_unique_options(options, "the job");
    } catch (const UsageError& e) {
        throw UserError(e.what());
    }
    return options;
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// One JSON object per line, all in one transaction: a bad line anywhere
// leaves nothing written.
struct StdinCounts {
    std::uint64_t inserted = 0;
    std::uint64_t duplicates = 0;  // kept out by a unique key
};

StdinCounts enqueue_stdin(Database& db, const std::string& job_type, const EnqueueOptions& options) {
    auto conn = db.pool().acquire();
    Transaction tx(*conn);
    std::vector<NewJob> batch;
    batch.reserve(stdin_batch);
    StdinCounts counts;
    auto flush = [&] {
        for (const auto& enqueued : db.store().insert_batch_in(*conn, batch))
            ++(enqueued.inserted ? counts.inserted : counts.duplicates);
        batch.clear();
    };
    std::string line;
    std::uint64_t line_number = 0;
    while (std::getline(std::cin, line)) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (blank(line)) continue;
        try {
            validate_json_object(line, "stdin line " + std::to_string(line_number));
        } catch (const PayloadError& e) {
            throw UserError(std::string(e.what()) + "; nothing was enqueued");
        }
        batch.push_back(NewJob{job_type, std::move(line), options});
        if (batch.size() == stdin_batch) flush();
    }
    if (std::cin.bad()) throw UserError("cannot read stdin; nothing was enqueued");
    if (!batch.empty()) flush();
    tx.commit();
    return counts;
}

void run_enqueue(const ConnectionOptions& connection, const EnqueueArgs& args) {
    const EnqueueOptions options = checked_options(args);
    if (args.json == "-") {
        Database db(connection);
        const auto counts = enqueue_stdin(db, args.job_type, options);
        std::cout << "enqueued " << count_of(counts.inserted, "job");
        if (options.unique_key) std::cout << " (" << count_of(counts.duplicates, "duplicate") << " not inserted)";
        std::cout << '\n';
        return;
    }
    try {
        validate_json_object(args.json, "payload");
    } catch (const PayloadError& e) {
        throw UserError(e.what());
    }
    Database db(connection);
    const auto enqueued = db.store().insert(NewJob{args.job_type, args.json, options});
    std::cout << enqueued.id.to_string();
    // With a unique key, whether this call inserted the job or found the one
    // holding the key (its id is printed).
    if (options.unique_key) std::cout << (enqueued.inserted ? " inserted" : " duplicate");
    std::cout << '\n';
}

}  // namespace

void add_enqueue_command(CLI::App& parent, CommandContext context) {
    auto args = std::make_shared<EnqueueArgs>();
    auto* cmd = parent.add_subcommand("enqueue", "Enqueue a job and print its id; with JSON '-', one job per stdin line");
    cmd->add_option("TYPE", args->job_type, "The job type (what handlers register for)")->required();
    cmd->add_option("JSON", args->json,
                    "The payload, a JSON object; '-' reads one JSON object per line from stdin and enqueues them "
                    "all in one transaction, printing the count")
        ->required();
    cmd->add_option("--queue", args->queue, "Queue name")->type_name("Q")->capture_default_str();
    cmd->add_option("--priority", args->priority, "Smaller runs first")->type_name("P")->capture_default_str();
    cmd->add_option_function<std::string>(
           "--run-at", [args](const std::string& text) { args->run_at = text; },
           "When the job becomes due: ISO 8601 (UTC unless an offset is given; a past time means now) or "
           "+N[s|m|h|d] from the database's clock")
        ->type_name("TIME|+30s");
    cmd->add_option("--max-retries", args->max_retries, "Retries after the first run (0 or more)")
        ->type_name("N")
        ->capture_default_str();
    cmd->add_option_function<std::string>(
           "--unique-key", [args](const std::string& key) { args->unique_key = key; },
           "At most one unfinished job of TYPE with this key: if one exists, nothing is inserted and its id is "
           "printed followed by 'duplicate' (else 'inserted')")
        ->type_name("K");
    cmd->add_option_function<std::string>(
           "--unique-for", [args](const std::string& period) { args->unique_for = period; },
           "With --unique-key: the key is unique within each period of this length (e.g. 1h), by the database's "
           "clock")
        ->type_name("DURATION");
    add_connection_options(*cmd, context.connection);
    cmd->callback([args, context] {
        context.action = [args, &connection = context.connection] { run_enqueue(connection, *args); };
    });
}

}  // namespace seesaw::cli

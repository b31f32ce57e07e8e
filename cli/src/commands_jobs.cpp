// seesaw jobs list [--status S] [--type T] [--queue Q] [--limit N] [--json]
// seesaw jobs show ID [--json]
// seesaw jobs cancel (ID... | [--type T] [--queue Q]) [--json]
#include <iostream>
#include <memory>
#include <set>
#include <vector>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/limits.hpp"

namespace seesaw::cli {
namespace {

struct ListArgs {
    std::optional<std::string> status;
    std::optional<std::string> job_type;
    std::optional<std::string> queue;
    std::int64_t limit = 100;
    bool json = false;
};

struct ShowArgs {
    std::string id;
    bool json = false;
};

struct CancelArgs {
    std::vector<std::string> ids;
    std::optional<std::string> job_type;
    std::optional<std::string> queue;
    bool json = false;
};

void run_list(const ConnectionOptions& connection, const ListArgs& args) {
    JobQuery query;
    if (args.status) query.status = parse_status(*args.status, "--status");
    query.job_type = args.job_type;
    query.queue = args.queue;
    if (args.limit < 1) throw UserError("--limit must be 1 or more, got " + std::to_string(args.limit));
    query.limit = static_cast<std::size_t>(args.limit);

    Database db(connection);
    auto jobs = db.store().list_jobs(query);
    if (args.json) {
        print_jobs_json(std::cout, "jobs", jobs);
        return;
    }
    Table table({{"ID"}, {"TYPE"}, {"QUEUE"}, {"STATUS"}, {"ATTEMPT", Align::right}, {"PRIORITY", Align::right},
                 {"RUN_AT"}, {"LAST_ERROR"}});
    for (const auto& job : jobs) {
        table.add_row({job.id.to_string(), job.job_type, job.queue, std::string(to_string(job.status)),
                       std::to_string(job.attempt) + "/" + std::to_string(attempts_allowed(job)),
                       std::to_string(job.priority), format_time_short(job.run_at),
                       job.error_message ? one_line(*job.error_message, 48) : "-"});
    }
    table.print(std::cout);
    if (jobs.size() == query.limit)
        std::cout << "(first " << count_of(jobs.size(), "job") << "; --limit shows more)\n";
}

void run_show(const ConnectionOptions& connection, const ShowArgs& args) {
    const JobId id = parse_job_id(args.id);
    Database db(connection);
    auto job = db.store().get_job(id);
    if (!job) throw UserError("no job with id " + id.to_string() + " in schema \"" + db.schema() + "\"");
    if (args.json) {
        JsonDocument doc;
        write_job(doc.writer(), *job);
        doc.print(std::cout);
        return;
    }
    const bool running = job->status == JobStatus::running;
    std::vector<std::pair<std::string, std::string>> fields{
                  {"id", job->id.to_string()},
                  {"type", job->job_type},
                  {"queue", job->queue},
                  {"status", std::string(to_string(job->status))},
                  {"attempts", format_attempts(*job) + " (max_retries " + std::to_string(job->max_retries) + ")"},
                  {"priority", std::to_string(job->priority)},
                  {"version", std::to_string(job->version)},
                  {"run_at", format_time(job->run_at)},
                  {"created_at", format_time(job->created_at)},
                  {"updated_at", format_time(job->updated_at)},
                  // Only a running job has a lease; a finished one keeps the id of its last worker.
                  {running ? "lease_holder" : "last_worker", job->worker_id.value_or("-")},
                  {"lease_expires_at", running && job->lease_expires_at ? format_time(*job->lease_expires_at) : "-"},
                  {"last_error", job->error_message.value_or("-")},
                  {"error_kind", job->error_kind ? std::string(to_string(*job->error_kind)) : "-"}};
    if (job->unique_key) {
        std::string held_in;
        for (auto state : job->unique_states) held_in += (held_in.empty() ? "" : ", ") + std::string(to_string(state));
        std::string key = *job->unique_key + " (held while " + held_in;
        if (job->unique_bucket) key += "; within the period from " + format_time(*job->unique_bucket);
        fields.emplace_back("unique_key", key + ")");
    }
    print_fields(std::cout, fields);
    if (!job->errors.empty()) {
        std::cout << "errors (oldest first):\n";
        for (const auto& error : job->errors) {
            std::cout << "  attempt " << error.attempt << "  " << format_time(error.at) << "  "
                      << error.worker_id.value_or("-") << "  " << to_string(error.kind) << "  " << error.message
                      << '\n';
        }
    }
    std::cout << "payload:\n" << pretty_json(job->payload) << '\n';
}

// Library checks (names) surface as the CLI's own errors: exit status 1.
template <class F>
auto user_checked(F&& f) {
    try {
        return f();
    } catch (const UsageError& e) {
        throw UserError(e.what());
    }
}

void run_cancel_ids(const ConnectionOptions& connection, const CancelArgs& args) {
    // Every id is checked before the database is touched; each is cancelled once.
    std::vector<JobId> ids;
    std::set<JobId> seen;
    for (const auto& text : args.ids) {
        auto id = parse_job_id(text);
        if (seen.insert(id).second) ids.push_back(id);
    }
    Database db(connection);
    // All or nothing: an unknown id cancels none (UsageError "no job with id ...").
    const auto results = user_checked([&] { return db.store().cancel(ids); });
    if (args.json) {
        JsonDocument doc;
        auto& json = doc.writer();
        json.StartObject();
        write_key(json, "jobs");
        json.StartArray();
        for (const auto& r : results) {
            json.StartObject();
            write_key(json, "id");
            write_string(json, r.id.to_string());
            write_key(json, "cancelled");
            json.Bool(r.cancelled);
            write_key(json, "previous_status");
            write_string(json, to_string(r.previous));
            json.EndObject();
        }
        json.EndArray();
        json.EndObject();
        doc.print(std::cout);
        return;
    }
    for (const auto& r : results) {
        if (r.cancelled)
            std::cout << r.id.to_string() << " cancelled (was " << to_string(r.previous) << ")\n";
        else
            std::cout << r.id.to_string() << " not cancelled: already " << to_string(r.previous) << '\n';
    }
}

void run_cancel_matching(const ConnectionOptions& connection, const CancelArgs& args) {
    CancelFilter filter{args.job_type, args.queue};
    user_checked([&] {
        if (filter.job_type) validate_job_type(*filter.job_type, "--type");
        if (filter.queue) validate_queue_name(*filter.queue, "--queue");
        return 0;
    });
    Database db(connection);
    const auto n = user_checked([&] { return db.store().cancel_all(filter); });
    if (args.json) {
        JsonDocument doc;
        auto& json = doc.writer();
        json.StartObject();
        write_key(json, "cancelled");
        json.Uint64(n);
        json.EndObject();
        doc.print(std::cout);
        return;
    }
    std::cout << "cancelled " << count_of(n, "job") << '\n';
}

}  // namespace

void add_jobs_command(CLI::App& parent, CommandContext context) {
    auto* jobs = parent.add_subcommand("jobs", "List jobs, show one job, or cancel jobs");
    jobs->require_subcommand(1);
    add_connection_options(*jobs, context.connection);

    auto list_args = std::make_shared<ListArgs>();
    auto* list = jobs->add_subcommand("list", "List jobs, oldest first");
    list->add_option_function<std::string>(
            "--status", [list_args](const std::string& s) { list_args->status = s; },
            "pending, running, succeeded, failed, dead_letter or cancelled")
        ->type_name("S");
    list->add_option_function<std::string>(
            "--type", [list_args](const std::string& t) { list_args->job_type = t; }, "Only this job type")
        ->type_name("T");
    list->add_option_function<std::string>(
            "--queue", [list_args](const std::string& q) { list_args->queue = q; }, "Only this queue")
        ->type_name("Q");
    list->add_option("--limit", list_args->limit, "At most N jobs")->type_name("N")->capture_default_str();
    list->add_flag("--json", list_args->json, "Print one JSON document: {\"jobs\": [...]}");
    add_connection_options(*list, context.connection);
    list->callback([list_args, context] {
        context.action = [list_args, &connection = context.connection] { run_list(connection, *list_args); };
    });

    auto show_args = std::make_shared<ShowArgs>();
    auto* show = jobs->add_subcommand("show", "Show one job: payload, attempts, last error, lease holder and deadline");
    show->add_option("ID", show_args->id, "The job id (a UUID)")->required();
    show->add_flag("--json", show_args->json, "Print one JSON document");
    add_connection_options(*show, context.connection);
    show->callback([show_args, context] {
        context.action = [show_args, &connection = context.connection] { run_show(connection, *show_args); };
    });

    auto cancel_args = std::make_shared<CancelArgs>();
    auto* cancel = jobs->add_subcommand(
        "cancel",
        "Cancel jobs that have not finished: pending, failed (awaiting a retry) or running (its worker is told, "
        "and what its handler does next is not written). A cancelled job never runs again; finished jobs are left "
        "as they are");
    auto* cancel_ids = cancel->add_option(
        "ID", cancel_args->ids,
        "Job ids to cancel, in one transaction: if any id is unknown, none is cancelled. Prints one line per id");
    auto* cancel_type = cancel->add_option_function<std::string>(
        "--type", [cancel_args](const std::string& t) { cancel_args->job_type = t; },
        "Instead of ids: every unfinished job of this type (in the --queue given)");
    cancel_type->type_name("T");
    auto* cancel_queue = cancel->add_option_function<std::string>(
        "--queue", [cancel_args](const std::string& q) { cancel_args->queue = q; },
        "Instead of ids: every unfinished job in this queue (of the --type given)");
    cancel_queue->type_name("Q");
    cancel_ids->excludes(cancel_type)->excludes(cancel_queue);
    cancel->add_flag("--json", cancel_args->json,
                     "Print one JSON document: {\"jobs\": [{\"id\", \"cancelled\", \"previous_status\"}, ...]} "
                     "for ids, {\"cancelled\": N} for --type/--queue");
    add_connection_options(*cancel, context.connection);
    cancel->callback([cancel_args, context] {
        if (cancel_args->ids.empty() && !cancel_args->job_type && !cancel_args->queue)
            throw CLI::ValidationError("jobs cancel needs job ids, or --type and/or --queue");
        context.action = [cancel_args, &connection = context.connection] {
            if (cancel_args->ids.empty())
                run_cancel_matching(connection, *cancel_args);
            else
                run_cancel_ids(connection, *cancel_args);
        };
    });
}

}  // namespace seesaw::cli

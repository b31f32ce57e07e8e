// seesaw jobs list [--status S] [--type T] [--queue Q] [--limit N] [--json]
// seesaw jobs show ID [--json]
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "parse.hpp"

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
                       std::to_string(job.attempt) + "/" + std::to_string(job.max_retries + 1),
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

}  // namespace

void add_jobs_command(CLI::App& parent, CommandContext context) {
    auto* jobs = parent.add_subcommand("jobs", "List jobs, or show one job");
    jobs->require_subcommand(1);
    add_connection_options(*jobs, context.connection);

    auto list_args = std::make_shared<ListArgs>();
    auto* list = jobs->add_subcommand("list", "List jobs, oldest first");
    list->add_option_function<std::string>(
            "--status", [list_args](const std::string& s) { list_args->status = s; },
            "pending, running, succeeded, failed or dead_letter")
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
}

}  // namespace seesaw::cli

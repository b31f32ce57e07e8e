// seesaw dead-letter list [--json]
// seesaw dead-letter retry (ID... | --all [--type T])
#include <iostream>
#include <limits>
#include <memory>
#include <vector>

#include "commands.hpp"
#include "database.hpp"
#include "output.hpp"
#include "parse.hpp"

namespace seesaw::cli {
namespace {

struct RetryArgs {
    std::vector<std::string> ids;
    bool all = false;
    std::optional<std::string> job_type;
};

void run_list(const ConnectionOptions& connection, bool json_output) {
    Database db(connection);
    auto jobs = db.store().list_jobs(JobQuery{.status = JobStatus::dead_letter,
                                              .limit = std::numeric_limits<std::size_t>::max(),
                                              .order_by = JobOrder::updated_at});
    if (json_output) {
        print_jobs_json(std::cout, "dead_letters", jobs);
        return;
    }
    Table table({{"ID"}, {"TYPE"}, {"QUEUE"}, {"ATTEMPTS", Align::right}, {"DEAD_SINCE"}, {"KIND"}, {"ERROR"}});
    for (const auto& job : jobs) {
        table.add_row({job.id.to_string(), job.job_type, job.queue, std::to_string(job.attempt),
                       format_time_short(job.updated_at),
                       job.error_kind ? std::string(to_string(*job.error_kind)) : "-",
                       job.error_message ? one_line(*job.error_message, 60) : "-"});
    }
    table.print(std::cout);
    std::cout << count_of(jobs.size(), "dead-lettered job") << '\n';
}

void run_retry(const ConnectionOptions& connection, const RetryArgs& args) {
    if (args.all) {
        if (args.job_type && args.job_type->empty()) throw UserError("--type must not be empty");
        Database db(connection);
        auto n = db.store().retry_all_dead_letters(args.job_type ? std::optional<std::string_view>(*args.job_type)
                                                                 : std::nullopt);
        std::cout << "retried " << count_of(n, "job") << '\n';
        return;
    }
    // Every id is checked before the database is touched.
    std::vector<JobId> ids;
    ids.reserve(args.ids.size());
    for (const auto& text : args.ids) ids.push_back(parse_job_id(text));
    Database db(connection);
    const auto n = db.store().retry_dead_letters(ids);
    std::cout << "retried " << count_of(n, "job") << '\n';
}

}  // namespace

void add_dead_letter_command(CLI::App& parent, CommandContext context) {
    auto* dead = parent.add_subcommand("dead-letter", "List dead-lettered jobs, or send them back to pending");
    dead->require_subcommand(1);
    add_connection_options(*dead, context.connection);

    auto list_json = std::make_shared<bool>(false);
    auto* list = dead->add_subcommand("list", "List the dead-lettered jobs with their last error, oldest first");
    list->add_flag("--json", *list_json, "Print one JSON document: {\"dead_letters\": [...]}");
    add_connection_options(*list, context.connection);
    list->callback([list_json, context] {
        context.action = [list_json, &connection = context.connection] { run_list(connection, *list_json); };
    });

    auto args = std::make_shared<RetryArgs>();
    auto* retry = dead->add_subcommand(
        "retry", "Send dead-lettered jobs back to pending with the attempt count reset, in one transaction");
    auto* ids = retry->add_option("ID", args->ids, "Job ids to retry (all must be dead-lettered)");
    auto* all = retry->add_flag("--all", args->all, "Retry every dead-lettered job (of one type with --type)");
    auto* type = retry->add_option_function<std::string>(
        "--type", [args](const std::string& t) { args->job_type = t; }, "With --all: only jobs of this type");
    type->type_name("T")->needs(all);
    ids->excludes(all);
    add_connection_options(*retry, context.connection);
    retry->callback([args, context] {
        if (args->ids.empty() && !args->all) throw CLI::ValidationError("dead-letter retry needs job ids, or --all");
        context.action = [args, &connection = context.connection] { run_retry(connection, *args); };
    });
}

}  // namespace seesaw::cli

// seesaw web [--listen HOST:PORT] [--read-only] [--token-file FILE]
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/store/pg_job_store.hpp"
#include "seesaw/store/pg_pool.hpp"
#include "web/dashboard.hpp"

namespace seesaw::cli {
namespace {

struct WebArgs {
    std::string listen = "127.0.0.1:8080";
    bool read_only = false;
    std::optional<std::string> token_file;
};

// The file's content without surrounding whitespace (a trailing newline).
std::string read_token(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError("--token-file '" + path + "': cannot be read");
    std::stringstream content;
    content << in.rdbuf();
    std::string token = content.str();
    const auto space = " \t\r\n";
    token.erase(0, token.find_first_not_of(space));
    token.erase(token.find_last_not_of(space) + 1);
    if (token.empty()) throw UserError("--token-file '" + path + "' is empty: put a secret in it");
    if (token.size() < web::min_token_length) {
        throw UserError("--token-file '" + path + "': the token must have at least " +
                        std::to_string(web::min_token_length) + " characters (e.g. openssl rand -hex 32 > " + path + ")");
    }
    return token;
}

void run_web(const ConnectionOptions& connection, const WebArgs& args) {
    if (connection.schema.empty()) throw UserError("--schema must not be empty");
    web::DashboardOptions options;
    options.listen = args.listen;
    options.read_only = args.read_only;
    if (args.token_file) options.token = read_token(*args.token_file);
    // Checks the address and the token before connecting.
    try {
        (void)web::parse_listen(options.listen);
    } catch (const UsageError& e) {
        throw UserError(e.what());
    }

    // SIGINT and SIGTERM are waited for below; blocked before any thread
    // starts, so that every thread inherits the mask.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    ::setenv("PGAPPNAME", "seesaw-web", 0);
    // A database host that does not answer fails a request after this long,
    // instead of holding it for the operating system's TCP timeout.
    ::setenv("PGCONNECT_TIMEOUT", "5", 0);
    PgPool pool(connection.conninfo(), PgPoolOptions{.max_connections = 4, .acquire_timeout = std::chrono::seconds(10)});
    // Nothing prepared: the dashboard works through a pooler in transaction mode.
    PgJobStore store(pool, PgJobStoreOptions{.schema = connection.schema, .prepared_statements = false});
    store.stats();  // a schema that was never migrated fails here, with the hint

    std::unique_ptr<web::Dashboard> dashboard;
    try {
        dashboard = std::make_unique<web::Dashboard>(store, options);
        dashboard->start();
    } catch (const UsageError& e) {
        throw UserError(e.what());
    }
    std::cout << "seesaw web: schema \"" << connection.schema << "\" at " << dashboard->url()
              << (args.read_only ? " (read-only)" : "") << (options.token ? " (token required)" : "")
              << "; Ctrl-C to stop" << std::endl;
    int signal = 0;
    sigwait(&stop, &signal);
    dashboard->stop();
    std::cout << "seesaw web: stopped" << std::endl;
}

}  // namespace

void add_web_command(CLI::App& parent, CommandContext context) {
    auto args = std::make_shared<WebArgs>();
    auto* web = parent.add_subcommand(
        "web", "Serve a web dashboard and its JSON API: queues, throughput, jobs, and actions (retry, cancel, "
               "delete, pause) until Ctrl-C or SIGTERM");
    web->add_option("--listen", args->listen,
                    "HOST:PORT to listen on; port 0 picks a free one. Any address but a loopback one needs "
                    "--token-file")
        ->type_name("HOST:PORT")
        ->capture_default_str();
    web->add_flag("--read-only", args->read_only, "Show no action, and refuse every POST with 403");
    web->add_option_function<std::string>(
           "--token-file", [args](const std::string& path) { args->token_file = path; },
           "A file holding a secret (16 characters or more) that every request must present: "
           "'Authorization: Bearer <token>', or the login form's cookie")
        ->type_name("FILE");
    add_connection_options(*web, context.connection);
    web->callback([args, context] {
        context.action = [args, &connection = context.connection] { run_web(connection, *args); };
    });
}

}  // namespace seesaw::cli

// seesaw-web-bench: how long the dashboard's overview (GET /api/queues)
// takes with N jobs in the table. Fills a schema of its own with plain SQL,
// starts the dashboard in this process on a free port, and times sequential
// requests over HTTP. One JSON object per line, as seesaw-bench prints:
//   {"system":"seesaw","metric":"web_queues_p50","value":1.9,"unit":"ms","params":{...}}
#include <CLI/CLI.hpp>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "seesaw/seesaw.hpp"
#include "web/dashboard.hpp"

namespace {

double percentile(std::vector<double> sorted, double p) {
    std::sort(sorted.begin(), sorted.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"seesaw-web-bench: the dashboard's overview response time with N jobs in the table"};
    std::string url = std::getenv("SEESAW_DATABASE_URL") ? std::getenv("SEESAW_DATABASE_URL") : "";
    std::string schema = "seesaw_web_bench";
    std::int64_t jobs = 1'000'000;
    int requests = 100;
    std::string state = "succeeded";
    bool keep = false;
    app.add_option("--database-url", url, "PostgreSQL URL (default: $SEESAW_DATABASE_URL)");
    app.add_option("--schema", schema, "A schema of its own: dropped and filled")->capture_default_str();
    app.add_option("--jobs", jobs, "Jobs in the table")->capture_default_str();
    app.add_option("--requests", requests, "Timed requests (after 5 to warm up)")->capture_default_str();
    app.add_option("--state", state,
                   "What the jobs are: succeeded (a retained history), pending (a backlog, all due), "
                   "or mixed (90% succeeded, 9% pending, 1% dead letters)")
        ->check(CLI::IsMember({"succeeded", "pending", "mixed"}))
        ->capture_default_str();
    app.add_flag("--keep", keep, "Keep the schema afterwards");
    CLI11_PARSE(app, argc, argv);

    try {
        seesaw::PgPool pool(url, {.max_connections = 6});
        {
            auto conn = pool.acquire();
            conn->execute("DROP SCHEMA IF EXISTS " + seesaw::quote_identifier(schema) + " CASCADE");
            seesaw::migrate(*conn, schema);
            conn->execute("SET search_path TO " + seesaw::quote_identifier(schema));
            const std::string status =
                state == "mixed"
                    ? "(CASE WHEN i % 100 = 0 THEN 'dead_letter' WHEN i % 100 < 10 THEN 'pending' ELSE 'succeeded' END)"
                    : "'" + state + "'";
            // In batches, so that no statement holds a million rows of WAL at once.
            for (std::int64_t from = 1; from <= jobs; from += 100'000) {
                const std::int64_t to = std::min(jobs, from + 99'999);
                conn->execute("INSERT INTO jobs (job_type, queue, payload, status, worker_id)"
                              " SELECT 'type_' || (i % 8), 'queue_' || (i % 4), '{\"n\": 1}', " + status +
                              "::job_status, 'bench' FROM generate_series(" + std::to_string(from) + ", " +
                              std::to_string(to) + ") AS i");
            }
            conn->execute("VACUUM ANALYZE jobs");
        }
        seesaw::PgJobStore store(pool, {.schema = schema});
        store.compact_stats();

        seesaw::web::Dashboard dashboard(store, {.listen = "127.0.0.1:0"});
        dashboard.start();
        httplib::Client client("127.0.0.1", dashboard.port());
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        std::vector<double> ms;
        for (int i = 0; i < 5 + requests; ++i) {
            const auto start = std::chrono::steady_clock::now();
            auto res = client.Get("/api/queues");
            const auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
            if (!res || res->status != 200) {
                std::cerr << "seesaw-web-bench: GET /api/queues failed: "
                          << (res ? res->body : httplib::to_string(res.error())) << '\n';
                return 1;
            }
            if (i >= 5) ms.push_back(took.count());
        }
        dashboard.stop();

        std::string version;
        {
            auto conn = pool.acquire();
            version = std::string(conn->execute("SHOW server_version").get(0, 0));
            if (!keep) conn->execute("DROP SCHEMA " + seesaw::quote_identifier(schema) + " CASCADE");
        }
        const std::string params = "{\"jobs\":" + std::to_string(jobs) + ",\"state\":\"" + state +
                                   "\",\"requests\":" + std::to_string(requests) + ",\"postgres\":\"" + version + "\"}";
        auto print = [&](const char* metric, double value) {
            std::cout << "{\"system\":\"seesaw\",\"metric\":\"" << metric << "\",\"value\":" << value
                      << ",\"unit\":\"ms\",\"params\":" << params << "}\n";
        };
        print("web_queues_p50", percentile(ms, 0.50));
        print("web_queues_p99", percentile(ms, 0.99));
        print("web_queues_max", *std::max_element(ms.begin(), ms.end()));
    } catch (const std::exception& e) {
        std::cerr << "seesaw-web-bench: " << e.what() << '\n';
        return 1;
    }
    return 0;
}

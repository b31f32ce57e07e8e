// seesaw-bench-report: medians of seesaw-bench's JSON lines, with each figure
// next to the physical floor and the targets.
//
//   seesaw-bench-report RESULTS.jsonl [--plot-dir DIR]
//
// Prints a Markdown table on stdout; with --plot-dir, writes throughput.dat
// for bench/plot.gp.
#include <CLI/CLI.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

struct Key {
    std::string setup;  // the param "setup" (seesaw-bench --label), empty if none
    std::string mode, metric;
    std::int64_t background_jobs = 0;
    std::int64_t jobs = 0;
    auto operator<=>(const Key&) const = default;
};

struct Series {
    std::string unit;
    std::vector<double> values;
    double median() const {
        auto v = values;
        std::sort(v.begin(), v.end());
        auto n = v.size();
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
};

std::int64_t int_param(const rapidjson::Value& params, const char* name) {
    auto it = params.FindMember(name);
    if (it == params.MemberEnd() || !it->value.IsNumber()) return 0;
    return static_cast<std::int64_t>(it->value.GetDouble());
}

std::string format(double v) {
    char buf[64];
    if (v >= 1000)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (v >= 10)
        std::snprintf(buf, sizeof buf, "%.1f", v);
    else
        std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    std::string path;
    std::string plot_dir;
    CLI::App app{"seesaw-bench-report: medians of seesaw-bench results"};
    app.add_option("results", path, "a .jsonl file written by seesaw-bench")->required()->check(CLI::ExistingFile);
    app.add_option("--plot-dir", plot_dir, "write throughput.dat for bench/plot.gp here");
    CLI11_PARSE(app, argc, argv);

    std::map<Key, Series> series;
    // (set-up, processes, statement text): share, us_per_job, jobs_per_call values
    std::map<std::tuple<std::string, int, std::string>, std::map<std::string, std::vector<double>>> statements;
    std::string postgres, sync_commit, fsync;
    std::ifstream in(path);
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.empty()) continue;
        rapidjson::Document doc;
        doc.Parse(line.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("metric") || !doc.HasMember("params")) {
            std::cerr << path << ":" << line_number << ": not a seesaw-bench result line\n";
            return 1;
        }
        const auto& params = doc["params"];
        auto text = [&](const char* name) -> std::string {
            auto it = params.FindMember(name);
            return it != params.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
        };
        Key key{text("setup"), text("mode"), doc["metric"].GetString(), int_param(params, "background_jobs"),
                int_param(params, "jobs")};
        // processes_N_statement_<id>_{share,us_per_job,jobs_per_call}: keyed by
        // the statement's text (its id may differ from run to run).
        if (auto statement = text("statement"); !statement.empty()) {
            const auto& m = key.metric;
            const auto at = m.find("_statement_");
            const auto n = std::atoi(m.c_str() + std::string("processes_").size());
            for (const char* what : {"share", "us_per_job", "jobs_per_call"}) {
                if (at != std::string::npos && m.ends_with(std::string("_") + what))
                    statements[{key.setup, n, statement}][what].push_back(doc["value"].GetDouble());
            }
            continue;
        }
        auto& s = series[key];
        s.unit = doc["unit"].GetString();
        s.values.push_back(doc["value"].GetDouble());
        if (params.HasMember("postgres")) postgres = params["postgres"].GetString();
        if (params.HasMember("synchronous_commit")) sync_commit = params["synchronous_commit"].GetString();
        if (params.HasMember("fsync")) fsync = params["fsync"].GetString();
    }
    auto median_of = [&](const std::string& mode, const std::string& metric, std::int64_t background = 0,
                         std::optional<std::int64_t> jobs = std::nullopt) -> std::optional<double> {
        for (const auto& [k, s] : series) {
            if ((k.setup.empty() || k.setup == "direct") && k.mode == mode && k.metric == metric &&
                k.background_jobs == background && (!jobs || k.jobs == *jobs))
                return s.median();
        }
        return std::nullopt;
    };

    std::printf("PostgreSQL %s, synchronous_commit=%s, fsync=%s; medians over the runs.\n\n", postgres.c_str(),
                sync_commit.c_str(), fsync.c_str());
    std::printf("| mode | metric | jobs | other jobs in table | median | unit | runs |\n");
    std::printf("|---|---|---:|---:|---:|---|---:|\n");
    for (const auto& [k, s] : series) {
        auto mode = k.setup.empty() ? k.mode : k.mode + " (" + k.setup + ")";
        std::printf("| %s | %s | %lld | %lld | %s | %s | %zu |\n", mode.c_str(), k.metric.c_str(),
                    static_cast<long long>(k.jobs), static_cast<long long>(k.background_jobs),
                    format(s.median()).c_str(), s.unit.c_str(), s.values.size());
    }

    struct Target {
        std::string what;
        std::optional<double> value;
        std::string goal;
        bool met;
    };
    std::vector<Target> targets;
    auto add = [&](std::string what, std::optional<double> value, std::string goal, auto test) {
        targets.push_back({std::move(what), value, std::move(goal), value && test(*value)});
    };
    add("latency_p50 / floor_e2e (paired, same run)", median_of("latency", "latency_p50_over_floor"), "≤ 1.3",
        [](double v) { return v <= 1.3; });
    add("latency_p99 / floor_e2e p50 (paired)", median_of("latency", "latency_p99_over_floor_p50"), "≤ 3",
        [](double v) { return v <= 3.0; });
    add("fast path latency_p50 / bare insert + commit (paired, same run)",
        median_of("latency", "latency_fast_p50_over_insert_floor"), "≤ 1.15", [](double v) { return v <= 1.15; });
    add("fast path latency_p50 / normal path latency_p50 (same run)",
        median_of("latency", "latency_fast_p50_over_normal_p50"), "≤ 0.5", [](double v) { return v <= 0.5; });
    add("process_jobs_per_s (throughput, 100k no-op jobs)", median_of("throughput", "process_jobs_per_s", 0, 100000),
        "≥ 40,000", [](double v) { return v >= 40000; });
    {
        auto process = median_of("throughput", "process_jobs_per_s", 0, 100000);
        auto floor = median_of("floor", "floor_claim_complete_update_jobs_per_s");
        add("process_jobs_per_s / claim-and-complete floor (floor mode, same jobs table)",
            process && floor ? std::optional<double>(*process / *floor) : std::nullopt, "≥ 0.9",
            [](double v) { return v >= 0.9; });
    }
    add("enqueue_jobs_per_s (bulk)", median_of("throughput", "enqueue_jobs_per_s", 0, 100000), "≥ 100,000",
        [](double v) { return v >= 100000; });
    add("steady process_jobs_per_s (8 producers)", median_of("steady", "process_jobs_per_s"), "≥ 10,000",
        [](double v) { return v >= 10000; });
    add("steady / plain NOTIFY in every commit", median_of("steady", "steady_over_baseline_notify"), "> 1",
        [](double v) { return v > 1.0; });
    add("steady latency_p99", median_of("steady", "latency_p99"), "< 10,000 us", [](double v) { return v < 10000; });
    add("prune: producers' enqueue p99, retention on / off (1,000,000 old rows)",
        median_of("prune", "prune_p99_ratio", 0, 1000000), "≤ 1.5", [](double v) { return v <= 1.5; });
    add("peak RSS, idle dispatcher, 8 workers (latency mode)", median_of("latency", "peak_rss_mib"), "< 32 MiB",
        [](double v) { return v < 32; });
    std::printf("\n| target | measured | goal | met |\n|---|---:|---|---|\n");
    for (const auto& t : targets) {
        std::printf("| %s | %s | %s | %s |\n", t.what.c_str(), t.value ? format(*t.value).c_str() : "not run",
                    t.goal.c_str(), t.met ? "yes" : "no");
    }

    if (auto v = median_of("stats", "stats_us", 0, 1000000)) {
        auto seed = median_of("stats", "seed_count_group_by_us", 0, 1000000);
        std::printf("\nstats() on 1,000,000 jobs: %s us (the seed's COUNT(*) GROUP BY: %s us)\n", format(*v).c_str(),
                    seed ? format(*seed).c_str() : "-");
    }

    auto claim_floor = median_of("floor", "floor_claim_batch_jobs_per_s");
    auto insert_floor = median_of("floor", "floor_inserts_per_s");
    auto notify_floor = median_of("floor", "floor_inserts_notify_per_s");
    std::printf("\nNext to the floor:\n");
    if (auto v = median_of("throughput", "process_jobs_per_s", 0, 100000); v && claim_floor)
        std::printf("- throughput process_jobs_per_s is %.2f× a bare 100-row SKIP LOCKED claim loop (%s jobs/s)\n",
                    *v / *claim_floor, format(*claim_floor).c_str());
    if (auto v = median_of("throughput", "process_server_cpu_us_per_job", 0, 100000)) {
        auto floor = median_of("floor", "floor_claim_complete_update_server_cpu_us_per_job");
        auto floor_delete = median_of("floor", "floor_claim_complete_delete_server_cpu_us_per_job");
        std::printf("- the server's CPU per job while draining: %s us (the claim-and-complete floor: %s us; with the"
                    " success a DELETE: %s us)\n",
                    format(*v).c_str(), floor ? format(*floor).c_str() : "-",
                    floor_delete ? format(*floor_delete).c_str() : "-");
    }
    if (auto v = median_of("steady", "enqueue_jobs_per_s"); v && insert_floor && notify_floor)
        std::printf("- steady enqueue rate is %.2f× bare single-row inserts from as many connections (%s/s) and "
                    "%.2f× inserts that each NOTIFY (%s/s)\n",
                    *v / *insert_floor, format(*insert_floor).c_str(), *v / *notify_floor,
                    format(*notify_floor).c_str());

    {
        auto rows = median_of("floor", "floor_job_row_inserts_per_s");
        auto checked = median_of("floor", "floor_job_row_checked_inserts_per_s");
        auto full = median_of("floor", "floor_job_inserts_per_s");
        if (insert_floor && rows && checked && full)
            std::printf("- one enqueue's row from as many connections, inserts/s: a bare row %s; the jobs table's columns"
                        " and indexes %s; with its CHECK constraints %s; with its insert trigger (the jobs table) %s\n",
                        format(*insert_floor).c_str(), format(*rows).c_str(), format(*checked).c_str(),
                        format(*full).c_str());
        auto bare = median_of("floor", "statement_bare_insert_us");
        auto row = median_of("floor", "statement_job_row_insert_us");
        auto row_checked = median_of("floor", "statement_job_row_checked_insert_us");
        auto enqueue = median_of("floor", "statement_enqueue_us");
        auto fast = median_of("floor", "statement_enqueue_fast_us");
        if (bare && row && row_checked && enqueue && fast)
            std::printf("- one enqueue statement on one connection, back to back, us each: a bare row %s; the jobs"
                        " table's columns and indexes %s; with its CHECK constraints %s; the store's insert into the"
                        " jobs table (its trigger too) %s; the fast path's insert (running, after its priority and"
                        " pause checks) %s (%.2f× the bare row)\n",
                        format(*bare).c_str(), format(*row).c_str(), format(*row_checked).c_str(),
                        format(*enqueue).c_str(), format(*fast).c_str(), *fast / *bare);
        if (auto v = median_of("steady", "enqueue_jobs_per_s"); v && rows)
            std::printf("- steady enqueue rate is %.2f× inserts of the jobs table's columns and indexes alone\n",
                        *v / *rows);
    }
    if (auto v = median_of("steady", "process_jobs_per_s"), alone = median_of("steady", "enqueue_alone_jobs_per_s");
        v && alone)
        std::printf("- steady process_jobs_per_s is %.2f× what the same producers enqueue with nothing processing "
                    "(%s jobs/s)\n",
                    *v / *alone, format(*alone).c_str());
    if (auto v = median_of("latency", "latency_p99_over_floor_p99"))
        std::printf("- latency_p99 is %.2f× the floor's own p99, sampled alongside\n", *v);

    // Set-ups side by side (bench/pgbouncer.sh: direct, through PgBouncer
    // with LISTEN direct, through PgBouncer polling only).
    std::vector<std::string> setups;
    for (const auto& [k, s] : series)
        if (!k.setup.empty() && std::find(setups.begin(), setups.end(), k.setup) == setups.end()) setups.push_back(k.setup);
    auto median_in = [&](const std::string& setup, const std::string& mode, const std::string& metric) -> std::string {
        for (const auto& [k, s] : series)
            if (k.setup == setup && k.mode == mode && k.metric == metric) return format(s.median());
        return "-";
    };
    auto runs_in = [&](const std::string& setup, const std::string& mode, const std::string& metric) -> std::size_t {
        for (const auto& [k, s] : series)
            if (k.setup == setup && k.mode == mode && k.metric == metric) return s.values.size();
        return 0;
    };
    auto any_in = [&](const std::string& mode, const std::string& metric) {
        return std::any_of(setups.begin(), setups.end(), [&](const auto& s) { return runs_in(s, mode, metric) > 0; });
    };
    if (any_in("latency", "latency_p50")) {
        std::printf("\nLatency by set-up (us, medians of the runs' p50/p99):\n\n");
        std::printf("| set-up | latency p50 | latency p99 | fast path p50 | fast path p99 | floor e2e p50 | runs |\n");
        std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
        for (const auto& setup : setups) {
            if (runs_in(setup, "latency", "latency_p50") == 0) continue;
            std::printf("| %s | %s | %s | %s | %s | %s | %zu |\n", setup.c_str(), median_in(setup, "latency", "latency_p50").c_str(),
                        median_in(setup, "latency", "latency_p99").c_str(), median_in(setup, "latency", "latency_fast_p50").c_str(),
                        median_in(setup, "latency", "latency_fast_p99").c_str(), median_in(setup, "latency", "floor_e2e_us").c_str(),
                        runs_in(setup, "latency", "latency_p50"));
        }
    }
    if (!setups.empty()) {
        std::printf("\nOne backlog drained by N dispatcher processes, by set-up (medians): jobs/s; backends of the"
                    " database at the peak (claim/complete/listen/store connections), and how many ran anything"
                    " during the drain; server execution time per job (pg_stat_statements):\n\n");
        std::printf("| set-up | processes | jobs/s | backends | claim | complete | listen | store | backends used |"
                    " server us/job | runs |\n");
        std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (const auto& setup : setups) {
            for (int n = 1; n <= 64; ++n) {
                auto p = "processes_" + std::to_string(n) + "_";
                if (runs_in(setup, "processes", p + "jobs_per_s") == 0) continue;
                std::printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %zu |\n", setup.c_str(), n,
                            median_in(setup, "processes", p + "jobs_per_s").c_str(),
                            median_in(setup, "processes", p + "connections").c_str(),
                            median_in(setup, "processes", p + "connections_claim").c_str(),
                            median_in(setup, "processes", p + "connections_complete").c_str(),
                            median_in(setup, "processes", p + "connections_listen").c_str(),
                            median_in(setup, "processes", p + "connections_store").c_str(),
                            median_in(setup, "processes", p + "backends_used").c_str(),
                            median_in(setup, "processes", p + "server_us_per_job").c_str(),
                            runs_in(setup, "processes", p + "jobs_per_s"));
            }
        }
        // The statements that took most of the server's time in each drain,
        // by median share.
        bool header = false;
        auto median_of_values = [](std::vector<double> v) {
            Series series_of{"", std::move(v)};
            return format(series_of.median());
        };
        for (const auto& setup : setups) {
            for (int n = 1; n <= 64; ++n) {
                std::vector<std::pair<double, const std::string*>> found;  // median share, text
                for (const auto& [k, values] : statements) {
                    if (std::get<0>(k) != setup || std::get<1>(k) != n || !values.contains("share")) continue;
                    found.emplace_back(Series{"", values.at("share")}.median(), &std::get<2>(k));
                }
                std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
                for (std::size_t i = 0; i < found.size() && i < 3; ++i) {
                    auto& values = statements[{setup, n, *found[i].second}];
                    if (!header) {
                        std::printf("\nThe statements that took most of the server's time (pg_stat_statements"
                                    " total_exec_time; medians over the runs where they were among the top three):"
                                    "\n\n| set-up | processes | statement | share | us/job | jobs/call | runs |\n"
                                    "|---|---:|---|---:|---:|---:|---:|\n");
                        header = true;
                    }
                    std::printf("| %s | %d | `%s` | %s | %s | %s | %zu |\n", setup.c_str(), n, found[i].second->c_str(),
                                median_of_values(values["share"]).c_str(), median_of_values(values["us_per_job"]).c_str(),
                                values["jobs_per_call"].empty() ? "-" : median_of_values(values["jobs_per_call"]).c_str(),
                                values["share"].size());
                }
            }
        }
    }

    if (!plot_dir.empty()) {
        std::ofstream out(plot_dir + "/throughput.dat");
        out << "# label jobs_per_s\n";
        auto row = [&](const char* label, std::optional<double> v) {
            if (v) out << '"' << label << "\" " << *v << "\n";
        };
        row("bulk enqueue", median_of("throughput", "enqueue_jobs_per_s", 0, 100000));
        row("drain 100k backlog", median_of("throughput", "process_jobs_per_s", 0, 100000));
        row("drain, 1M other rows", median_of("throughput", "process_jobs_per_s", 1000000, 100000));
        row("steady, 8 producers", median_of("steady", "process_jobs_per_s"));
        row("same, NOTIFY per commit", median_of("steady", "baseline_notify_process_jobs_per_s"));
        row("steady producers alone", median_of("steady", "enqueue_alone_jobs_per_s"));
        row("floor: 100-row claims", claim_floor);
        row("floor: 8 conns inserts", insert_floor);
        row("floor: inserts + NOTIFY", notify_floor);
    }
    return 0;
}

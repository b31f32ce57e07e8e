// The chaos test's verdict: reads the ledgers that the workers and producers
// wrote outside the database and the final jobs table, checks that nothing
// was lost, run twice or reported wrongly, prints one line of counts, and
// exits 1 with the violating jobs when a check fails.
//
//   chaos_check URL SCHEMA DIR [LABEL]
//
// DIR holds worker-*.log (chaos_worker.cpp), producer-<kind>[.<part>].log
// (the producers: A/D/R <id or -> <tag> [<group>], see chaos_producer.cpp)
// and faults.log (<epoch us> <kind> ..., written by the driver). LABEL starts the counts line (seed, duration).
//
// Checks:
//   c1 every accepted job (or in-doubt job that exists) ended: succeeded or dead_letter
//   c2 no job is pending, failed or running
//   c3 no (job, attempt) started on two workers; c3s: nor twice on one worker
//   c4 no job was dead-lettered without a run
//   c5 the row's (worker, attempt) of a succeeded job names a run that ended
//      in success; of a dead letter (other than a lease expiry) one that
//      ended in failure
//   c6 stats() and stats_by_queue() equal COUNT(*) GROUP BY status (and queue)
//   c7 every row was made by a producer: no unknown tag, no tag twice, no
//      rolled-back job in the table, no in-doubt call (a batch, a
//      transaction) written in part
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "seesaw/seesaw.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& line, std::size_t max_fields = 0) {
    std::vector<std::string> fields;
    std::size_t at = 0;
    while (at < line.size()) {
        if (max_fields != 0 && fields.size() + 1 == max_fields) {
            fields.push_back(line.substr(at));
            break;
        }
        auto space = line.find(' ', at);
        if (space == std::string::npos) space = line.size();
        if (space > at) fields.push_back(line.substr(at, space - at));
        at = space + 1;
    }
    return fields;
}

struct Row {
    std::string id;
    std::string tag;
    std::string status;
    int attempt = 0;
    std::string worker;
    std::string error;
    std::string type;
    std::string queue;
};

struct Run {
    std::string worker;
    bool ended = false;
    std::string outcome;  // ok | retry | perm
};

struct Entry {
    char fate;  // A | D | R
    std::string id;
    std::string tag;
    std::string kind;
    std::string group;  // in-doubt jobs of one call (all or none of them exist)
};

class Check {
public:
    Check(std::string url, std::string schema, fs::path dir)
        : url_(std::move(url)), schema_(std::move(schema)), dir_(std::move(dir)) {}

    int run(const std::string& label) {
        read_ledgers();
        read_table();
        check_producers();
        check_rows();
        check_runs();
        check_stats();
        print_counts(label);
        return print_violations() ? 1 : 0;
    }

private:
    // --- reading --------------------------------------------------------------

    void read_ledgers() {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir_)) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& path : files) {
            const auto name = path.filename().string();
            if (name.starts_with("worker-") && name.ends_with(".log"))
                read_worker_ledger(path);
            else if (name.starts_with("producer-") && name.ends_with(".log"))
                read_producer_ledger(path, name.substr(9, name.find('.') - 9));
            else if (name == "faults.log")
                read_faults(path);
        }
    }

    void read_worker_ledger(const fs::path& path) {
        std::ifstream in(path);
        std::string line;
        const auto file = path.filename().string();
        while (std::getline(in, line)) {
            auto f = split(line, line.starts_with("L ") ? 6 : 0);
            if (f.size() < 5) {
                anomalies_.push_back(file + ": malformed line '" + line + "'");
                continue;
            }
            const std::string& id = f[1];
            const int attempt = std::stoi(f[2]);
            const std::string& worker = f[3];
            const std::string key = id + "#" + f[2];
            std::int64_t us = 0;
            if (f[0] == "S" && f.size() >= 7) {
                us = std::stoll(f[6]);
                runs_[key].push_back(Run{worker, false, ""});
                started_ids_.insert(id);
                ++starts_;
                if (attempt > 1) ++reruns_;
            } else if (f[0] == "E" && f.size() >= 8) {
                us = std::stoll(f[6]);
                auto& list = runs_[key];
                auto open = std::find_if(list.begin(), list.end(),
                                         [&](const Run& r) { return r.worker == worker && !r.ended; });
                if (open == list.end()) {
                    anomalies_.push_back(file + ": an end without a start: " + line);
                } else {
                    open->ended = true;
                    open->outcome = f[5];
                }
                if (f[5] == "retry") ++retryable_failures_;
                if (f[5] == "perm") ++permanent_failures_;
            } else if (f[0] == "C" || f[0] == "L") {
                us = std::stoll(f[4]);
                if (f[0] == "L") ++leases_lost_;
            } else if (f[0] == "W" && f.size() >= 6) {
                us = std::stoll(f[5]);
            } else {
                anomalies_.push_back(file + ": malformed line '" + line + "'");
                continue;
            }
            history_[id].emplace_back(us, file + ": " + line);
        }
    }

    void read_producer_ledger(const fs::path& path, const std::string& kind) {
        std::ifstream in(path);
        std::string line;
        kinds_.insert(kind);
        while (std::getline(in, line)) {
            auto f = split(line);
            if (f.size() < 3 || f.size() > 4 || f[0].size() != 1 ||
                std::string("ADR").find(f[0][0]) == std::string::npos) {
                anomalies_.push_back(path.filename().string() + ": malformed line '" + line + "'");
                continue;
            }
            entries_.push_back(Entry{f[0][0], f[1], f[2], kind, f.size() == 4 ? f[3] : ""});
        }
    }

    void read_faults(const fs::path& path) {
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
            auto f = split(line, 3);
            if (f.size() < 2) continue;
            if (f[1] == "start") start_us_ = std::stoll(f[0]);
            faults_[f[1]] += 1;
            fault_lines_.emplace_back(std::stoll(f[0]), line);
        }
    }

    void read_table() {
        auto conn = seesaw::Connection::open(url_);
        auto result = conn.execute(
            "SELECT id::text, coalesce(payload->>'tag', ''), status::text, attempt, coalesce(worker_id, ''),"
            " coalesce(error_message, ''), job_type, queue FROM " +
            seesaw::quote_identifier(schema_) + ".jobs");
        for (std::size_t i = 0; i < result.rows(); ++i) {
            Row row{std::string(result.get(i, 0)), std::string(result.get(i, 1)), std::string(result.get(i, 2)),
                    static_cast<int>(result.get_int64(i, 3)), std::string(result.get(i, 4)),
                    std::string(result.get(i, 5)), std::string(result.get(i, 6)), std::string(result.get(i, 7))};
            by_tag_[row.tag].push_back(row.id);
            ++statuses_[row.status];
            ++queue_statuses_[row.queue][row.status];
            rows_.emplace(row.id, std::move(row));
        }
    }

    // --- checks ---------------------------------------------------------------

    void violation(const std::string& check, const std::string& id, const std::string& what) {
        violations_[check].push_back({id, what});
    }

    const Row* find(const Entry& e) const {
        if (e.id != "-") {
            auto it = rows_.find(e.id);
            return it == rows_.end() ? nullptr : &it->second;
        }
        auto it = by_tag_.find(e.tag);
        if (it == by_tag_.end() || it->second.empty()) return nullptr;
        return &rows_.at(it->second.front());
    }

    std::string describe(const Row& row) const {
        return row.status + " attempt " + std::to_string(row.attempt) + " worker " +
               (row.worker.empty() ? "(none)" : row.worker) + (row.error.empty() ? "" : " error '" + row.error + "'");
    }

    void check_producers() {
        std::set<std::string> made_tags;
        std::map<std::string, std::pair<std::size_t, std::size_t>> groups;  // group → (found, jobs)
        for (const auto& e : entries_) {
            const Row* row = find(e);
            if (!e.group.empty()) {
                auto& [found, jobs] = groups[e.kind + " " + e.group];
                found += row ? 1 : 0;
                ++jobs;
            }
            if (e.fate == 'R') {
                ++not_committed_;
                if (row) violation("c7", row->id, e.kind + " producer never committed " + e.tag + " but it is " + describe(*row));
                continue;
            }
            made_tags.insert(e.tag);
            if (e.fate == 'D') {
                ++in_doubt_;
                if (!row) continue;
                ++in_doubt_found_;
            }
            ++accepted_[e.kind];
            const std::string name = e.id != "-" ? e.id : e.tag;
            if (!row) {
                violation("c1", name, "accepted by the " + e.kind + " producer (" + e.tag + ") but not in the table");
                continue;
            }
            if (row->tag != e.tag)
                violation("c7", row->id, "the " + e.kind + " producer enqueued " + e.tag + " with this id, the row says " + row->tag);
            if (row->status != "succeeded" && row->status != "dead_letter")
                violation("c1", row->id, "accepted (" + e.tag + ") and never ended: " + describe(*row));
        }
        for (const auto& [group, counts] : groups)
            if (counts.first != 0 && counts.first != counts.second)
                violation("c7", "-", "the in-doubt call of " + group + " is written in part: " +
                                         std::to_string(counts.first) + " of its " + std::to_string(counts.second) +
                                         " jobs exist");
        for (const auto& [tag, ids] : by_tag_) {
            if (!made_tags.contains(tag))
                for (const auto& id : ids)
                    violation("c7", id, "no producer made tag '" + tag + "': " + describe(rows_.at(id)));
            if (ids.size() > 1)
                for (const auto& id : ids) violation("c7", id, "tag " + tag + " is on " + std::to_string(ids.size()) + " rows");
        }
    }

    void check_rows() {
        for (const auto& [id, row] : rows_) {
            if (row.status == "pending" || row.status == "failed" || row.status == "running")
                violation("c2", id, "stuck: " + describe(row));
            if (row.status == "dead_letter" && !started_ids_.contains(id))
                violation("c4", id, "dead-lettered without a run: " + describe(row));
            const bool lease_expiry = row.error.starts_with("lease expired");
            if (row.status == "dead_letter" && lease_expiry) {
                ++dead_lease_expired_;
                // Allowed (the lease promises at least once), but worth a
                // count: the handler succeeded and the reclaim won the race
                // with the result's write.
                const auto it = runs_.find(id + "#" + std::to_string(row.attempt));
                if (it != runs_.end())
                    for (const auto& r : it->second)
                        if (r.worker == row.worker && r.ended && r.outcome == "ok") {
                            ++dead_after_success_;
                            break;
                        }
            }
            if (row.status == "succeeded" || (row.status == "dead_letter" && !lease_expiry)) {
                const bool want_success = row.status == "succeeded";
                const auto it = runs_.find(id + "#" + std::to_string(row.attempt));
                bool found = false;
                if (it != runs_.end())
                    for (const auto& r : it->second)
                        if (r.worker == row.worker && r.ended && (r.outcome == "ok") == want_success) found = true;
                if (!found)
                    violation("c5", id, "the row says " + describe(row) + ", but that worker has no run of attempt " +
                                            std::to_string(row.attempt) + " that ended in " +
                                            (want_success ? "success" : "failure"));
            }
        }
    }

    void check_runs() {
        for (const auto& [key, list] : runs_) {
            const auto hash = key.find('#');
            const std::string id = key.substr(0, hash);
            std::map<std::string, int> per_worker;
            for (const auto& r : list) ++per_worker[r.worker];
            if (per_worker.size() > 1) {
                std::string workers;
                for (const auto& [w, n] : per_worker) workers += " " + w;
                violation("c3", id, "attempt " + key.substr(hash + 1) + " started on " +
                                        std::to_string(per_worker.size()) + " workers:" + workers);
            }
            for (const auto& [w, n] : per_worker)
                if (n > 1)
                    violation("c3s", id, "attempt " + key.substr(hash + 1) + " started " + std::to_string(n) +
                                             " times on worker " + w);
        }
    }

    static std::string format(const seesaw::QueueStats& s) {
        return "pending " + std::to_string(s.pending) + ", running " + std::to_string(s.running) + ", succeeded " +
               std::to_string(s.succeeded) + ", failed " + std::to_string(s.failed) + ", dead_letter " +
               std::to_string(s.dead_letter);
    }

    static seesaw::QueueStats counted(const std::map<std::string, std::int64_t>& by_status) {
        seesaw::QueueStats s;
        for (const auto& [status, n] : by_status) s[*seesaw::parse_job_status(status)] = n;
        return s;
    }

    void check_stats() {
        seesaw::PgJobStore store(seesaw::PgPool(url_, {.max_connections = 1}), {.schema = schema_});
        const auto total = store.stats();
        const auto expected = counted(statuses_);
        if (!(total == expected))
            violation("c6", "-", "stats() says " + format(total) + "; the table has " + format(expected));
        const auto by_queue = store.stats_by_queue();
        std::set<std::string> queues;
        for (const auto& [q, s] : by_queue) queues.insert(q);
        for (const auto& [q, s] : queue_statuses_) queues.insert(q);
        for (const auto& q : queues) {
            const auto it = by_queue.find(q);
            const auto got = it == by_queue.end() ? seesaw::QueueStats{} : it->second;
            const auto rows = queue_statuses_.find(q);
            const auto want = rows == queue_statuses_.end() ? seesaw::QueueStats{} : counted(rows->second);
            if (!(got == want))
                violation("c6", "-", "stats_by_queue()[" + q + "] says " + format(got) + "; the table has " + format(want));
        }
    }

    // --- reporting -------------------------------------------------------------

    std::size_t count(const std::string& check) const {
        auto it = violations_.find(check);
        return it == violations_.end() ? 0 : it->second.size();
    }

    void print_counts(const std::string& label) const {
        std::ostringstream out;
        out << "CHAOS COUNTS:";
        if (!label.empty()) out << " " << label;
        out << " | accepted";
        for (const auto& kind : kinds_) {
            auto it = accepted_.find(kind);
            out << " " << kind << "=" << (it == accepted_.end() ? 0 : it->second);
        }
        out << " in_doubt=" << in_doubt_ << " (found " << in_doubt_found_ << ") not_committed=" << not_committed_;
        auto status = [&](const char* s) {
            auto it = statuses_.find(s);
            return it == statuses_.end() ? 0 : it->second;
        };
        out << " | rows=" << rows_.size() << " succeeded=" << status("succeeded") << " dead_letter=" << status("dead_letter")
            << " (lease_expired " << dead_lease_expired_ << ", of which after a successful run "
            << dead_after_success_ << ")";
        out << " | runs=" << starts_ << " reruns=" << reruns_ << " retryable_failures=" << retryable_failures_
            << " permanent_failures=" << permanent_failures_ << " leases_lost=" << leases_lost_;
        out << " | faults";
        for (const char* kind : {"kill", "stop", "crash", "restart", "terminate", "worker_exit"}) {
            auto it = faults_.find(kind);
            out << " " << kind << "=" << (it == faults_.end() ? 0 : it->second);
        }
        out << " | violations";
        for (const char* check : {"c1", "c2", "c3", "c3s", "c4", "c5", "c6", "c7"}) out << " " << check << "=" << count(check);
        std::cout << out.str() << std::endl;
    }

    // Prints what the ledgers say about a job, in time order, with the faults.
    void print_history(const std::string& id) const {
        auto it = history_.find(id);
        std::vector<std::pair<std::int64_t, std::string>> lines;
        if (it != history_.end()) lines = it->second;
        if (lines.empty()) {
            std::cout << "      (no ledger line names this job)\n";
            return;
        }
        const auto first = std::min_element(lines.begin(), lines.end())->first;
        const auto last = std::max_element(lines.begin(), lines.end())->first;
        for (const auto& f : fault_lines_)
            if (f.first >= first - 5'000'000 && f.first <= last + 10'000'000 && f.first > start_us_)
                lines.emplace_back(f.first, "faults.log: " + f.second.substr(f.second.find(' ') + 1));
        std::sort(lines.begin(), lines.end());
        for (const auto& [us, text] : lines) {
            char when[32];
            std::snprintf(when, sizeof when, "%+9.3fs", static_cast<double>(us - start_us_) / 1e6);
            std::cout << "      " << when << "  " << text << "\n";
        }
    }

    bool print_violations() const {
        static const std::map<std::string, std::string> names = {
            {"c1", "accepted jobs that did not end (lost or unfinished)"},
            {"c2", "jobs stuck pending, failed or running"},
            {"c3", "attempts started on two workers"},
            {"c3s", "attempts started twice on one worker"},
            {"c4", "jobs dead-lettered without a run"},
            {"c5", "rows whose result names no matching run"},
            {"c6", "stats() different from the table"},
            {"c7", "rows no producer made, or made twice, or rolled back"},
        };
        constexpr std::size_t shown = 15;
        bool any = false;
        for (const auto& [check, list] : violations_) {
            any = true;
            std::cout << "\nFAILED " << check << ": " << list.size() << " " << names.at(check) << "\n  ids:";
            std::set<std::string> ids;
            for (const auto& [id, what] : list) ids.insert(id);
            for (const auto& id : ids) std::cout << " " << id;
            std::cout << "\n";
            for (std::size_t i = 0; i < list.size() && i < shown; ++i) {
                std::cout << "  " << list[i].first << ": " << list[i].second << "\n";
                if (list[i].first != "-") print_history(list[i].first);
            }
            if (list.size() > shown) std::cout << "  ... and " << list.size() - shown << " more\n";
        }
        if (!anomalies_.empty()) {
            std::cout << "\nledger anomalies (" << anomalies_.size() << "):\n";
            for (std::size_t i = 0; i < anomalies_.size() && i < shown; ++i) std::cout << "  " << anomalies_[i] << "\n";
        }
        std::cout << (any ? "\nchaos: FAILED (the ledgers and the jobs table are in " + dir_.string() + ")\n"
                          : "\nchaos: every check passed\n");
        return any;
    }

    std::string url_;
    std::string schema_;
    fs::path dir_;

    std::unordered_map<std::string, std::vector<Run>> runs_;  // "<id>#<attempt>" → its runs
    std::set<std::string> started_ids_;
    std::unordered_map<std::string, std::vector<std::pair<std::int64_t, std::string>>> history_;
    std::vector<Entry> entries_;
    std::set<std::string> kinds_;
    std::map<std::string, int> faults_;
    std::vector<std::pair<std::int64_t, std::string>> fault_lines_;
    std::int64_t start_us_ = 0;

    std::unordered_map<std::string, Row> rows_;
    std::unordered_map<std::string, std::vector<std::string>> by_tag_;
    std::map<std::string, std::int64_t> statuses_;
    std::map<std::string, std::map<std::string, std::int64_t>> queue_statuses_;

    std::map<std::string, std::vector<std::pair<std::string, std::string>>> violations_;
    std::vector<std::string> anomalies_;
    std::map<std::string, std::size_t> accepted_;
    std::size_t in_doubt_ = 0, in_doubt_found_ = 0, not_committed_ = 0, dead_lease_expired_ = 0, dead_after_success_ = 0;
    std::size_t starts_ = 0, reruns_ = 0, retryable_failures_ = 0, permanent_failures_ = 0, leases_lost_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URL SCHEMA DIR [LABEL]\n", argv[0]);
        return 2;
    }
    try {
        return Check(argv[1], argv[2], argv[3]).run(argc > 4 ? argv[4] : "");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chaos check: %s\n", e.what());
        return 2;
    }
}

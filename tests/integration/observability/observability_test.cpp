// Metrics (snapshot and the Prometheus endpoint, fetched with curl) and the
// logging hook, checked against the jobs actually run.
#include <cstdio>
#include <map>
#include <sstream>

#include "test_database.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

// Runs a shell command; returns its stdout.
std::string run(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    pclose(pipe);
    return out;
}

// The value of the sample whose name and labels contain every fragment.
std::optional<double> sample(const std::string& text, const std::string& name,
                             const std::vector<std::string>& fragments) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(name + "{", 0) != 0) continue;
        bool all = true;
        for (const auto& f : fragments) all = all && line.find(f) != std::string::npos;
        if (all) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return std::nullopt;
}

class ObservabilityTest : public SchemaTest {};

TEST_F(ObservabilityTest, MetricsCountTheJobsRunAndAreServedInPrometheusFormat) {
    DispatcherOptions options;
    options.queues = {{"default", 4}};
    options.metrics_listen = "127.0.0.1:0";
    options.retry_policy = {.base = 1ms, .cap = 5ms};
    Dispatcher dispatcher(*store_, options);
    dispatcher.on<Echo>([](const Echo& job, JobContext& ctx) {
        if (job.text == "poison") throw PermanentError("poison");
        if (job.text == "flaky" && ctx.attempt() == 1) throw RetryableError("first attempt fails");
    });
    dispatcher.start();
    // Subscribed after start(), so after the dispatcher's own metrics: when
    // this sees an event, the metrics have counted it.
    Signal done;
    std::atomic<int> finished{0};
    auto s1 = dispatcher.events().subscribe<JobSucceeded>([&](const JobSucceeded&) {
        ++finished;
        done.notify();
    });
    auto s2 = dispatcher.events().subscribe<JobDeadLettered>([&](const JobDeadLettered&) {
        ++finished;
        done.notify();
    });
    ASSERT_GT(dispatcher.metrics_port(), 0);
    for (int i = 0; i < 20; ++i) store_->enqueue(Echo{"ok"});
    for (int i = 0; i < 3; ++i) store_->enqueue(Echo{"poison"});
    for (int i = 0; i < 2; ++i) store_->enqueue(Echo{"flaky"});
    ASSERT_TRUE(done.wait_for([&] { return finished.load() == 25; }));

    auto snapshot = dispatcher.metrics();
    EXPECT_EQ(snapshot.total_succeeded(), 22u);
    EXPECT_EQ(snapshot.total_dead_lettered(), 3u);
    EXPECT_EQ(snapshot.total_retried(), 2u);
    ASSERT_EQ(snapshot.job_types.size(), 1u);
    EXPECT_EQ(snapshot.job_types[0].claimed, 27u);  // 25 jobs + 2 retries
    EXPECT_EQ(snapshot.job_types[0].handler_seconds.count, 27u);

    auto url = "http://127.0.0.1:" + std::to_string(dispatcher.metrics_port());
    auto text = run("curl -sS --max-time 10 " + url + "/metrics");
    const std::vector<std::string> echo = {"queue=\"default\"", "job_type=\"echo\""};
    EXPECT_EQ(sample(text, "seesaw_jobs_succeeded_total", echo), 22.0) << text;
    EXPECT_EQ(sample(text, "seesaw_jobs_dead_lettered_total", echo), 3.0);
    EXPECT_EQ(sample(text, "seesaw_jobs_retried_total", echo), 2.0);
    EXPECT_EQ(sample(text, "seesaw_jobs_claimed_total", echo), 27.0);
    EXPECT_EQ(sample(text, "seesaw_handler_duration_seconds_count", echo), 27.0);
    EXPECT_EQ(sample(text, "seesaw_handler_duration_seconds_bucket", {"job_type=\"echo\"", "le=\"+Inf\""}), 27.0);
    EXPECT_EQ(sample(text, "seesaw_enqueue_to_start_seconds_count", {"queue=\"default\""}), 27.0);
    auto batches = sample(text, "seesaw_claim_batch_size_count", {"queue=\"default\""});
    ASSERT_TRUE(batches);
    EXPECT_GE(*batches, 1.0);
    EXPECT_NE(text.find("# TYPE seesaw_jobs_succeeded_total counter"), std::string::npos);
    EXPECT_EQ(run("curl -s -o /dev/null -w '%{http_code}' " + url + "/other"), "404");
    dispatcher.stop();
}

TEST_F(ObservabilityTest, AnUnusableMetricsAddressIsRefusedAtStart) {
    DispatcherOptions options;
    options.metrics_listen = "not-an-address";
    Dispatcher dispatcher(*store_, options);
    dispatcher.on<Echo>([](const Echo&, JobContext&) {});
    EXPECT_THROW(dispatcher.start(), UsageError);
}

TEST_F(ObservabilityTest, TheLogHookGetsLevelledLinesWithTheWorkerIdAndNoLinePerJob) {
    std::mutex mutex;
    std::vector<std::pair<LogLevel, std::string>> lines;
    set_logger([&](LogLevel level, std::string_view message) {
        std::lock_guard lock(mutex);
        lines.emplace_back(level, std::string(message));
    });
    {
        Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
        dispatcher.on<Echo>([](const Echo&, JobContext&) {});
        Signal done;
        std::atomic<int> succeeded{0};
        auto sub = dispatcher.events().subscribe<JobSucceeded>([&](const JobSucceeded&) {
            ++succeeded;
            done.notify();
        });
        dispatcher.start();
        std::vector<NewJob> jobs;
        for (int i = 0; i < 200; ++i) jobs.push_back(JobStore::make_new_job(Echo{"x"}));
        auto ids = store_->enqueue_batch(jobs);
        ASSERT_TRUE(done.wait_for([&] { return succeeded.load() == 200; }));
        dispatcher.stop();

        std::lock_guard lock(mutex);
        bool started = false, stopped = false;
        for (const auto& [level, text] : lines) {
            EXPECT_NE(level, LogLevel::debug) << "debug lines are off by default: " << text;
            started = started || (text.find("started") != std::string::npos &&
                                  text.find(dispatcher.worker_id()) != std::string::npos);
            stopped = stopped || (text.find("stopped") != std::string::npos &&
                                  text.find(dispatcher.worker_id()) != std::string::npos);
            for (const auto& id : ids) EXPECT_EQ(text.find(id.to_string()), std::string::npos) << text;
        }
        EXPECT_TRUE(started);
        EXPECT_TRUE(stopped);
        EXPECT_LT(lines.size(), 20u) << "no log line per job at the default level";
    }
    set_logger(nullptr);
}

}  // namespace
}  // namespace seesaw::test

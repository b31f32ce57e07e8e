#pragma once
// What the dispatcher tests share: a recorder of the events a dispatcher
// publishes (tests wait on it instead of sleeping), a wait for the LISTEN
// connection, and test worker processes (tests/support/test_worker.cpp).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_database.hpp"

extern char** environ;

namespace seesaw::test {

using namespace std::chrono_literals;

// seesaw::Dispatcher with as_configured() options: every dispatcher the
// tests make, so the same tests run direct and through a pooler.
class Dispatcher : public seesaw::Dispatcher {
public:
    explicit Dispatcher(PgJobStore& store, DispatcherOptions options = {})
        : seesaw::Dispatcher(store, as_configured(std::move(options))) {}
};

// One job event, with the views copied.
struct JobEvent {
    JobId id;
    std::string job_type;
    std::string queue;
    std::int32_t attempt = 0;
    std::string text;  // the error or reason, when there is one
    std::chrono::milliseconds delay{};
    Timestamp run_at{};
};

struct Events {
    std::vector<JobEvent> claimed, started, succeeded, retried, dead_lettered, lease_lost, cancelled, snoozed;
    std::vector<std::pair<std::string, bool>> pause_changes;  // queue, paused
    std::vector<std::string> reconnected, disconnected;
    std::size_t claims = 0;             // ClaimFinished
    std::size_t claimed_rows = 0;       // jobs those claim statements returned
    std::vector<std::size_t> stopped;  // DispatcherStopped::released, one per event

    static std::size_t count(const std::vector<JobEvent>& list, const JobId& id) {
        return static_cast<std::size_t>(std::count_if(list.begin(), list.end(), [&](const JobEvent& e) { return e.id == id; }));
    }
    static std::size_t count(const std::vector<std::string>& list, std::string_view name) {
        return static_cast<std::size_t>(std::count(list.begin(), list.end(), name));
    }
};

// Subscribes to every event of a bus and records it.
class EventLog {
public:
    explicit EventLog(EventBus& bus) {
        auto job = [](const JobRef& ref) {
            return JobEvent{ref.id, std::string(ref.job_type), std::string(ref.queue), ref.attempt, {}, {}, {}};
        };
        subs_.push_back(bus.subscribe<ClaimFinished>([this](const ClaimFinished& ev) {
            add([&](Events& e) {
                ++e.claims;
                e.claimed_rows += ev.claimed;
            });
        }));
        subs_.push_back(bus.subscribe<JobClaimed>([this, job](const JobClaimed& ev) {
            add([&](Events& e) { e.claimed.push_back(job(ev.job)); });
        }));
        subs_.push_back(bus.subscribe<JobStarted>([this, job](const JobStarted& ev) {
            auto entry = job(ev.job);
            entry.run_at = ev.run_at;
            add([&](Events& e) { e.started.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<JobSucceeded>([this, job](const JobSucceeded& ev) {
            add([&](Events& e) { e.succeeded.push_back(job(ev.job)); });
        }));
        subs_.push_back(bus.subscribe<JobRetried>([this, job](const JobRetried& ev) {
            auto entry = job(ev.job);
            entry.text = ev.error;
            entry.delay = ev.delay;
            add([&](Events& e) { e.retried.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<JobDeadLettered>([this, job](const JobDeadLettered& ev) {
            auto entry = job(ev.job);
            entry.text = ev.error;
            add([&](Events& e) { e.dead_lettered.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<LeaseLost>([this, job](const LeaseLost& ev) {
            auto entry = job(ev.job);
            entry.text = ev.reason;
            add([&](Events& e) { e.lease_lost.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<JobCancelled>([this, job](const JobCancelled& ev) {
            auto entry = job(ev.job);
            entry.text = ev.reason;
            add([&](Events& e) { e.cancelled.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<JobSnoozed>([this, job](const JobSnoozed& ev) {
            auto entry = job(ev.job);
            entry.delay = ev.delay;
            add([&](Events& e) { e.snoozed.push_back(entry); });
        }));
        subs_.push_back(bus.subscribe<QueuePauseChanged>([this](const QueuePauseChanged& ev) {
            add([&](Events& e) { e.pause_changes.emplace_back(std::string(ev.queue), ev.paused); });
        }));
        subs_.push_back(bus.subscribe<Reconnected>([this](const Reconnected& ev) {
            add([&](Events& e) { e.reconnected.emplace_back(ev.connection); });
        }));
        subs_.push_back(bus.subscribe<Disconnected>([this](const Disconnected& ev) {
            add([&](Events& e) { e.disconnected.emplace_back(ev.connection); });
        }));
        subs_.push_back(bus.subscribe<DispatcherStopped>([this](const DispatcherStopped& ev) {
            add([&](Events& e) { e.stopped.push_back(ev.released); });
        }));
    }

    // Waits until pred(events) holds; false when the deadline passed first.
    template <class Pred>
    bool wait_for(Pred pred, std::chrono::milliseconds timeout = 30s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return pred(static_cast<const Events&>(events_)); });
    }

    Events snapshot() const {
        std::lock_guard lock(mutex_);
        return events_;
    }

private:
    template <class F>
    void add(F&& f) {
        {
            std::lock_guard lock(mutex_);
            f(events_);
        }
        cv_.notify_all();
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    Events events_;
    std::vector<Subscription> subs_;
};

// The base of the dispatcher tests: a schema of its own, and a test that
// fails when a dispatcher logs an error (e.g. its loop closed with handles
// still open, or a result it could not write).
class DispatchTest : public SchemaTest {
protected:
    void SetUp() override {
        SchemaTest::SetUp();
        set_logger([this](LogLevel level, std::string_view message) {
            std::fprintf(stderr, "%s %.*s\n", std::string(to_string(level)).c_str(), int(message.size()),
                         message.data());
            if (level < LogLevel::error) return;
            std::lock_guard lock(errors_mutex_);
            errors_.emplace_back(message);
        });
    }
    void TearDown() override {
        set_logger(nullptr);
        {
            std::lock_guard lock(errors_mutex_);
            for (const auto& error : errors_) ADD_FAILURE() << "logged an error: " << error;
        }
        SchemaTest::TearDown();
    }

    Job job(const JobId& id) {
        auto found = store_->get_job(id);
        if (!found) throw std::runtime_error("no job " + id.to_string());
        return *found;
    }
    // A handler's bounded wait for what the dispatcher (or the test) tells it.
    static bool await(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (!condition()) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }
    // Sends one notification on the schema's ready channel.
    std::function<void()> notify_ready(std::string queue = "default") {
        return [this, queue] { sql("SELECT pg_notify(notify_channel($1, 'ready'), $2)", {schema_, queue}); };
    }
    // Flags a handler sets and the test waits for (with a deadline).
    void set_flag(std::atomic<bool>& flag) {
        flag = true;
        flag_signal_.notify();
    }
    bool wait_flag(const std::atomic<bool>& flag, std::chrono::milliseconds timeout = 30s) {
        return flag_signal_.wait_for([&] { return flag.load(); }, timeout);
    }

private:
    std::mutex errors_mutex_;
    std::vector<std::string> errors_;
    Signal flag_signal_;
};

// Returns once the dispatcher LISTENs, for tests that must not be served by
// the claims a dispatcher makes when it starts. Only for a dispatcher started
// on an empty queue: its first claim follows the claim connection's start;
// any later claim follows the LISTEN (whose completion claims, as does every
// notification), so the probe notifications below are answered only then.
// `notify` sends one notification on the schema's ready channel.
inline ::testing::AssertionResult wait_until_listening(EventLog& log, const std::function<void()>& notify) {
    if (!log.wait_for([](const Events& e) { return e.claims >= 1; }))
        return ::testing::AssertionFailure() << "the dispatcher made no claim after it started";
    for (int probe = 0; probe < 200; ++probe) {
        auto before = log.snapshot().claims;
        if (before >= 2) return ::testing::AssertionSuccess();
        notify();
        if (log.wait_for([&](const Events& e) { return e.claims > before; }, 100ms))
            return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the dispatcher did not answer notifications";
}

#ifdef SEESAW_TEST_WORKER
// A test worker process (tests/support/test_worker.cpp, its path given by the
// build) whose standard output is read line by line by a thread of its own.
class WorkerProcess {
public:
    explicit WorkerProcess(std::vector<std::string> args) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        args.insert(args.begin(), SEESAW_TEST_WORKER);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, SEESAW_TEST_WORKER, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::runtime_error("cannot start " + std::string(SEESAW_TEST_WORKER));
        }
        reader_ = std::thread([this, fd = fds[0]] { read_lines(fd); });
    }
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;
    ~WorkerProcess() {
        if (!exited_) {
            kill(pid_, SIGKILL);
            wait();
        }
        if (reader_.joinable()) reader_.join();
    }

    pid_t pid() const noexcept { return pid_; }
    void signal(int signum) { kill(pid_, signum); }
    // Waits for the process to exit; its wait status.
    int wait() {
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        exited_ = true;
        if (reader_.joinable()) reader_.join();  // EOF follows the exit
        return status;
    }

    // The lines the process wrote that start with `prefix`.
    std::size_t count(std::string_view prefix) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) { return l.starts_with(prefix); }));
    }
    bool has_line(std::string_view line) const {
        std::lock_guard lock(mutex_);
        return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
    }
    // Every line that starts with `prefix`, without it, in order.
    std::vector<std::string> lines(std::string_view prefix) const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& l : lines_) {
            if (l.starts_with(prefix)) out.push_back(l.substr(prefix.size()));
        }
        return out;
    }
    // The first line that starts with `prefix`, without it ("" if none).
    std::string rest_of(std::string_view prefix) const {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_) {
            if (l.starts_with(prefix)) return l.substr(prefix.size());
        }
        return {};
    }
    // Waits (with a deadline) until pred() holds; pred may call count().
    // Every line read from any WorkerProcess notifies `progress`.
    template <class Pred>
    static bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        std::unique_lock lock(progress_mutex());
        while (!pred()) {
            if (progress_cv().wait_until(lock, deadline) == std::cv_status::timeout) return pred();
        }
        return true;
    }

private:
    static std::mutex& progress_mutex() {
        static std::mutex m;
        return m;
    }
    static std::condition_variable& progress_cv() {
        static std::condition_variable cv;
        return cv;
    }

    void read_lines(int fd) {
        std::string buffer;
        char chunk[4096];
        while (true) {
            auto n = read(fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::size_t start = 0;
            std::vector<std::string> complete;
            for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n', start)) {
                complete.push_back(buffer.substr(start, end - start));
                start = end + 1;
            }
            buffer.erase(0, start);
            if (complete.empty()) continue;
            {
                std::lock_guard lock(mutex_);
                for (auto& l : complete) lines_.push_back(std::move(l));
            }
            { std::lock_guard lock(progress_mutex()); }
            progress_cv().notify_all();
        }
        close(fd);
        { std::lock_guard lock(progress_mutex()); }
        progress_cv().notify_all();
    }

    pid_t pid_ = -1;
    bool exited_ = false;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};
#endif

}  // namespace seesaw::test

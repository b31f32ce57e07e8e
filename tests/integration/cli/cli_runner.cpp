#include "cli_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

extern char** environ;

namespace seesaw::test {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) fail("pipe2");
        read = fds[0];
        write = fds[1];
    }
};

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

std::vector<std::string> environment_with(const EnvChanges& changes) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : changes) {
        if (value)
            env[name] = *value;
        else
            env.erase(name);
    }
    std::vector<std::string> out;
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
}

// Spawns the program with the pipes as its stdin, stdout and stderr.
int spawn(const std::string& program, const std::vector<std::string>& args, const EnvChanges& env, Pipe& in,
          Pipe& out, Pipe& err) {
    std::vector<std::string> argv_text{program};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto env_text = environment_with(env);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
    // The child starts with default signal handling and nothing blocked.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        fail("posix_spawn " + program);
    }
    close_fd(in.read);
    close_fd(out.write);
    close_fd(err.write);
    return pid;
}

int wait_status(int pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid");
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Reads what is available; false at end of file.
bool read_some(int fd, std::string& into) {
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) return true;
        fail("read");
    }
    into.append(buf, static_cast<std::size_t>(n));
    return n > 0;
}

}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::string& input, const EnvChanges& env) {
    // A child that exits before reading all of stdin must not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    Pipe in, out, err;
    int pid = spawn(SEESAW_CLI_PATH, args, env, in, out, err);
    fcntl(in.write, F_SETFL, O_NONBLOCK);
    if (input.empty()) close_fd(in.write);

    CliResult result;
    std::size_t written = 0;
    while (out.read >= 0 || err.read >= 0) {
        pollfd fds[3];
        nfds_t n = 0;
        int out_at = -1, err_at = -1, in_at = -1;
        if (out.read >= 0) fds[out_at = static_cast<int>(n++)] = {out.read, POLLIN, 0};
        if (err.read >= 0) fds[err_at = static_cast<int>(n++)] = {err.read, POLLIN, 0};
        if (in.write >= 0) fds[in_at = static_cast<int>(n++)] = {in.write, POLLOUT, 0};
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR) continue;
            fail("poll");
        }
        if (out_at >= 0 && fds[out_at].revents != 0 && !read_some(out.read, result.out)) close_fd(out.read);
        if (err_at >= 0 && fds[err_at].revents != 0 && !read_some(err.read, result.err)) close_fd(err.read);
        if (in_at >= 0 && fds[in_at].revents != 0) {
            ssize_t w = ::write(in.write, input.data() + written, input.size() - written);
            if (w > 0) written += static_cast<std::size_t>(w);
            // EPIPE: the child stopped reading (it refused the input); keep its output.
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) close_fd(in.write);
        }
    }
    close_fd(in.write);
    result.status = wait_status(pid);
    return result;
}

CliProcess::CliProcess(const std::vector<std::string>& args, const std::string& program) {
    Pipe in, out, err;
    pid_ = spawn(program, args, {}, in, out, err);
    close_fd(in.write);
    out_fd_ = out.read;
    err_fd_ = err.read;
}

CliProcess::~CliProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        wait_status(pid_);
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
}

std::optional<std::string> CliProcess::read_line() {
    while (true) {
        auto newline = buffered_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffered_.substr(0, newline);
            buffered_.erase(0, newline + 1);
            return line;
        }
        if (out_fd_ < 0 || !read_some(out_fd_, buffered_)) return std::nullopt;
    }
}

void CliProcess::send_signal(int signal) { ::kill(pid_, signal); }

CliResult CliProcess::wait() {
    CliResult result;
    result.out = std::move(buffered_);
    while (out_fd_ >= 0 && read_some(out_fd_, result.out)) {
    }
    while (err_fd_ >= 0 && read_some(err_fd_, result.err)) {
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
    result.status = wait_status(pid_);
    pid_ = -1;
    return result;
}

}  // namespace seesaw::test

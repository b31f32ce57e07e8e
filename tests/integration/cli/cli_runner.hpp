#pragma once
// Runs the real `seesaw` binary (SEESAW_CLI_PATH) as a child process,
// feeding stdin and capturing stdout, stderr and the exit status.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seesaw::test {

struct CliResult {
    int status = -1;  // the exit status; 128 + N when killed by signal N
    std::string out;
    std::string err;
};

// Environment changes for the child: a value sets the variable, nullopt unsets it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Runs to completion. `input` is written to its stdin (then closed) while
// its output is read, so neither side can block the other.
CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "", const EnvChanges& env = {});

// A running `seesaw` (or another program) whose stdout is read a line at a
// time (for --watch).
class CliProcess {
public:
    explicit CliProcess(const std::vector<std::string>& args, const std::string& program = SEESAW_CLI_PATH);
    CliProcess(const CliProcess&) = delete;
    CliProcess& operator=(const CliProcess&) = delete;
    ~CliProcess();

    // The next line of stdout without its newline; nullopt at end of output.
    std::optional<std::string> read_line();
    void send_signal(int signal);
    // Waits for the exit; returns the status (see CliResult::status).
    CliResult wait();

private:
    int pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string buffered_;
};

}  // namespace seesaw::test

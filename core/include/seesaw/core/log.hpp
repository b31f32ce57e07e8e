#pragma once
// The logging hook. By default, lines at info and above go to stderr (the
// environment variable SEESAW_LOG_LEVEL=debug|info|warn|error|off sets the
// initial level). Route them elsewhere (spdlog, syslog, ...) with
// set_logger. Nothing is logged per job at info level.

#include <functional>
#include <string_view>

namespace seesaw {

enum class LogLevel { trace, debug, info, warn, error, off };

std::string_view to_string(LogLevel level) noexcept;

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the sink (nullptr restores the stderr sink). Thread-safe.
void set_logger(LogSink sink);
void set_log_level(LogLevel minimum) noexcept;
LogLevel log_level() noexcept;
inline bool log_enabled(LogLevel level) noexcept { return level >= log_level(); }
// Sends one message to the sink when its level is enabled.
void log(LogLevel level, std::string_view message);

}  // namespace seesaw

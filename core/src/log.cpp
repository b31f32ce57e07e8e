#include "seesaw/core/log.hpp"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "seesaw/core/job.hpp"

namespace seesaw {
namespace {

// The initial level: SEESAW_LOG_LEVEL (trace, debug, info, warn, error, off), else info.
LogLevel level_from_environment() {
    const char* text = std::getenv("SEESAW_LOG_LEVEL");
    if (text == nullptr) return LogLevel::info;
    std::string_view value(text);
    for (auto level : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
        std::string name(to_string(level));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (value == name) return level;
    }
    return LogLevel::info;
}

std::atomic<LogLevel> minimum_level{level_from_environment()};
std::atomic<std::shared_ptr<const LogSink>> current_sink;

void stderr_sink(LogLevel level, std::string_view message) {
    static std::mutex write_mutex;
    auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
    auto line = format_timestamp(Timestamp(now.time_since_epoch())) + " seesaw " +
                std::string(to_string(level)) + " " + std::string(message) + "\n";
    std::lock_guard lock(write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::trace: return "TRACE";
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warn: return "WARN";
        case LogLevel::error: return "ERROR";
        case LogLevel::off: break;
    }
    return "OFF";
}

void set_logger(LogSink sink) {
    current_sink.store(sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr);
}

void set_log_level(LogLevel minimum) noexcept { minimum_level.store(minimum, std::memory_order_relaxed); }

LogLevel log_level() noexcept { return minimum_level.load(std::memory_order_relaxed); }

void log(LogLevel level, std::string_view message) {
    if (level == LogLevel::off || !log_enabled(level)) return;
    if (auto sink = current_sink.load()) {
        (*sink)(level, message);
    } else {
        stderr_sink(level, message);
    }
}

}  // namespace seesaw

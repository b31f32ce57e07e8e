#pragma once
// LogCapture: while it lives, every log line (at any level) is kept for the
// test to read instead of going to stderr. Lines may come from any thread.

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "seesaw/core/log.hpp"

namespace seesaw::test {

class LogCapture {
public:
    struct Line {
        LogLevel level;
        std::string text;
    };

    LogCapture() : level_(log_level()) {
        set_log_level(LogLevel::trace);
        set_logger([this](LogLevel level, std::string_view message) {
            std::lock_guard lock(mutex_);
            lines_.push_back(Line{level, std::string(message)});
        });
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    ~LogCapture() {
        set_logger(nullptr);
        set_log_level(level_);
    }

    std::vector<Line> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    // Lines at `level` or above that contain `text`.
    std::size_t count(LogLevel level, std::string_view text) const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& line : lines_) n += line.level >= level && line.text.find(text) != std::string::npos ? 1 : 0;
        return n;
    }

private:
    LogLevel level_;
    mutable std::mutex mutex_;
    std::vector<Line> lines_;
};

}  // namespace seesaw::test

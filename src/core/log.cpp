// stderr logger with an atomic level.
#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace portcullis::core {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (auto level : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error}) {
    if (level_name(level) == name) return level;
  }
  return std::nullopt;
}

void set_log_level(LogLevel level) {
  g_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return level >= g_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view message) {
  std::string line = fmt::format("{} {} {}\n", rfc3339(std::chrono::system_clock::now()),
                                 level_name(level), message);
  // One write per line: atomic with respect to other threads' lines.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace portcullis::core

// The process log facade (operator messages, not the access log): level filter and one
// line per message on stderr, written with a single write(2) so lines from threads never
// interleave.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace portcullis::core {

enum class LogLevel { Debug, Info, Warn, Error };

std::optional<LogLevel> parse_log_level(std::string_view name);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(level)) log_line(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace portcullis::core

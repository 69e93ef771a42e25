// Wall-clock helpers: RFC 3339 timestamps for logs and evidence, HTTP dates.
#pragma once

#include <chrono>
#include <string>

namespace portcullis::core {

using SystemTime = std::chrono::system_clock::time_point;

/// "2026-11-21T23:52:39.123Z" (UTC, milliseconds).
std::string rfc3339(SystemTime t);

/// "Sat, 21 Nov 2026 23:52:39 GMT" (RFC 9110 IMF-fixdate).
std::string http_date(SystemTime t);

}  // namespace portcullis::core

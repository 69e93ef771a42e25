// Parsing the time given on the command line (`verify --at`, `check-bundle --at`): RFC 3339
// with a zone, a plain date, or seconds since the epoch.
#pragma once

#include <chrono>
#include <string_view>

#include "core/result.h"

namespace portcullis::diag {

/// "2024-04-01T00:00:00Z", "2024-04-01T02:00:00+02:00", "2024-04-01 00:00:00.5Z",
/// "2024-04-01" (midnight UTC), "@1711929600" (Unix seconds). A time without a zone is refused:
/// it would silently depend on the machine's zone.
core::Result<std::chrono::system_clock::time_point> parse_time_arg(std::string_view text);

}  // namespace portcullis::diag

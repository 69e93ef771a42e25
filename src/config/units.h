// Durations ("500ms", "1.5s", "1m", "1h") and sizes ("512", "16KiB", "10MB", "1g") as written in
// the configuration: parsing with operator-readable errors, and the canonical spelling back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace portcullis::config {

/// The largest duration accepted anywhere (one year): deadlines computed from it cannot overflow.
inline constexpr Duration kMaxDuration{365LL * 24 * 3600 * 1000};

/// "<number><unit>" with unit ms, s, m or h; the number may have a fraction ("1.5s") as long as
/// the result is a whole number of milliseconds. A bare number, an unknown unit, a negative value
/// or more than kMaxDuration is an error whose message lists the accepted forms.
core::Result<Duration> parse_duration(std::string_view text);

/// "<number>[unit]" in bytes; units (case-insensitive) k/KB/KiB, m/MB/MiB, g/GB/GiB are all
/// powers of 1024. A fraction is allowed if the result is a whole number of bytes ("1.5KiB").
/// Negative values and values beyond 2^64-1 are errors.
core::Result<std::uint64_t> parse_size(std::string_view text);

/// The shortest exact spelling: "1h", "90s", "1500ms", "0ms".
std::string format_duration(Duration duration);

/// The shortest exact spelling: "1GiB", "16KiB", "1000".
std::string format_size(std::uint64_t bytes);

}  // namespace portcullis::config

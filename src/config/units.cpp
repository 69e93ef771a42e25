// Parsing and formatting of configuration durations and sizes. Numbers are parsed as exact
// decimals (integer part + fraction digits) so "1.5s" is 1500 ms without floating point.
#include "config/units.h"

#include <cctype>
#include <limits>
#include <optional>

#include "config/quote.h"

namespace portcullis::config {
namespace {

constexpr std::string_view kDurationForms = "use a number and a unit: 500ms, 2s, 1.5s, 1m or 1h";
constexpr std::string_view kSizeForms = "use bytes or a unit: 512, 16KiB, 10MiB or 1GiB";
constexpr int kMaxFractionDigits = 9;

struct Decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0;        ///< the digits after the point as an integer
  std::uint64_t fraction_scale = 1;  ///< 10^(number of fraction digits)
  std::string_view unit;             ///< what follows the number
  bool overflow = false;             ///< the integer part does not fit in 64 bits
};

/// Splits "12.50ms" into 12, 50/100 and "ms". Fails on no leading digit, a dangling point or
/// more than kMaxFractionDigits fraction digits.
std::optional<Decimal> split_decimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  if (i == text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (d.whole > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) d.overflow = true;
    d.whole = d.whole * 10 + digit;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (++digits > kMaxFractionDigits) return std::nullopt;
      d.fraction = d.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      d.fraction_scale *= 10;
    }
    if (digits == 0) return std::nullopt;
  }
  d.unit = text.substr(i);
  return d;
}

/// whole * multiplier + fraction * multiplier / scale, if exact and within max.
enum class Scaled { Ok, Overflow, Inexact };
Scaled scale(const Decimal& d, std::uint64_t multiplier, std::uint64_t max, std::uint64_t& out) {
  if (d.overflow) return Scaled::Overflow;
  if (d.whole != 0 && multiplier > max / d.whole) return Scaled::Overflow;
  const std::uint64_t whole = d.whole * multiplier;
  // fraction < 10^9 and multiplier <= 2^30 (GiB) or 3.6e6 (h): the product fits in 64 bits.
  const std::uint64_t part = d.fraction * multiplier;
  if (part % d.fraction_scale != 0) return Scaled::Inexact;
  const std::uint64_t fraction = part / d.fraction_scale;
  if (fraction > max - whole) return Scaled::Overflow;
  out = whole + fraction;
  return Scaled::Ok;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

core::Result<Duration> parse_duration(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    return core::fail("durations cannot be negative, got " + quote(text));
  }
  const auto d = split_decimal(text);
  if (!d) {
    return core::fail("expected a duration, got " + quote(text) + " (" +
                      std::string(kDurationForms) + ")");
  }
  std::uint64_t multiplier = 0;
  if (d->unit == "ms") {
    multiplier = 1;
  } else if (d->unit == "s") {
    multiplier = 1000;
  } else if (d->unit == "m") {
    multiplier = 60 * 1000;
  } else if (d->unit == "h") {
    multiplier = 3600 * 1000;
  } else if (d->unit.empty()) {
    return core::fail("duration " + quote(text) + " has no unit (" + std::string(kDurationForms) +
                      ")");
  } else {
    return core::fail("unknown unit " + quote(d->unit) + " in duration " + quote(text) + " (" +
                      std::string(kDurationForms) + ")");
  }
  std::uint64_t ms = 0;
  switch (scale(*d, multiplier, static_cast<std::uint64_t>(kMaxDuration.count()), ms)) {
    case Scaled::Ok:
      return Duration(static_cast<Duration::rep>(ms));
    case Scaled::Inexact:
      return core::fail("duration " + quote(text) + " is not a whole number of milliseconds");
    case Scaled::Overflow:
      break;
  }
  return core::fail("duration " + quote(text) + " is too large (at most " +
                    format_duration(kMaxDuration) + ")");
}

core::Result<std::uint64_t> parse_size(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    return core::fail("sizes cannot be negative, got " + quote(text));
  }
  const auto d = split_decimal(text);
  if (!d) {
    return core::fail("expected a size, got " + quote(text) + " (" + std::string(kSizeForms) + ")");
  }
  const std::string unit = lower(d->unit);
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    multiplier = 1ULL << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    multiplier = 1ULL << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    multiplier = 1ULL << 30;
  } else {
    return core::fail("unknown unit " + quote(d->unit) + " in size " + quote(text) + " (" +
                      std::string(kSizeForms) + ")");
  }
  std::uint64_t bytes = 0;
  switch (scale(*d, multiplier, std::numeric_limits<std::uint64_t>::max(), bytes)) {
    case Scaled::Ok:
      return bytes;
    case Scaled::Inexact:
      return core::fail("size " + quote(text) + " is not a whole number of bytes");
    case Scaled::Overflow:
      break;
  }
  return core::fail("size " + quote(text) + " is too large");
}

std::string format_duration(Duration duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % (3600 * 1000) == 0) return std::to_string(ms / (3600 * 1000)) + "h";
  if (ms != 0 && ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ULL << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (1ULL << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (1ULL << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

}  // namespace portcullis::config

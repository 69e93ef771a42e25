// Command-line time parsing without locale or time-zone state: fields are read by hand and
// converted with the civil-from-days arithmetic of <chrono>.
#include "diag/time_arg.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace portcullis::diag {
namespace {

using std::chrono::system_clock;

/// Reads exactly `digits` decimal digits at `pos`.
bool read_number(std::string_view text, std::size_t& pos, std::size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  const char* first = text.data() + pos;
  for (std::size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(first[i]))) return false;
  }
  auto [ptr, ec] = std::from_chars(first, first + digits, out);
  if (ec != std::errc() || ptr != first + digits) return false;
  pos += digits;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

core::Error bad(std::string_view text) {
  return core::Error{fmt::format("invalid time \"{}\": use RFC 3339 with a zone "
                                 "(2024-04-01T00:00:00Z), a date (2024-04-01) or @UNIX_SECONDS",
                                 text),
                     {},
                     0};
}

}  // namespace

core::Result<system_clock::time_point> parse_time_arg(std::string_view text) {
  if (text.starts_with('@')) {
    long long secs = 0;
    const char* first = text.data() + 1;
    const char* last = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(first, last, secs);
    if (ec != std::errc() || ptr != last || first == last) return std::unexpected(bad(text));
    return system_clock::time_point(std::chrono::seconds(secs));
  }
  std::size_t pos = 0;
  int year = 0;
  int month = 0;
  int day = 0;
  if (!read_number(text, pos, 4, year) || !expect(text, pos, '-') ||
      !read_number(text, pos, 2, month) || !expect(text, pos, '-') ||
      !read_number(text, pos, 2, day)) {
    return std::unexpected(bad(text));
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::unexpected(bad(text));
  system_clock::time_point t = std::chrono::sys_days(ymd);
  if (pos == text.size()) return t;  // a date: midnight UTC

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::unexpected(bad(text));
  ++pos;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!read_number(text, pos, 2, hour) || !expect(text, pos, ':') ||
      !read_number(text, pos, 2, minute) || !expect(text, pos, ':') ||
      !read_number(text, pos, 2, second) || hour > 23 || minute > 59 || second > 60) {
    return std::unexpected(bad(text));
  }
  t += std::chrono::hours(hour) + std::chrono::minutes(minute) + std::chrono::seconds(second);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::chrono::nanoseconds frac{0};
    long long scale = 100'000'000;
    const std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      frac += std::chrono::nanoseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::unexpected(bad(text));
    t += std::chrono::duration_cast<system_clock::duration>(frac);
  }
  if (pos >= text.size()) return std::unexpected(bad(text));  // no zone: refused
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!read_number(text, pos, 2, oh) || !expect(text, pos, ':') ||
        !read_number(text, pos, 2, om) || oh > 23 || om > 59) {
      return std::unexpected(bad(text));
    }
    t -= sign * (std::chrono::hours(oh) + std::chrono::minutes(om));
  } else {
    return std::unexpected(bad(text));
  }
  if (pos != text.size()) return std::unexpected(bad(text));
  return t;
}

}  // namespace portcullis::diag

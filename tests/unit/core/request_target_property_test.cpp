// Properties routing relies on, over a deterministic stream of generated targets built from the
// pieces bypasses are made of: a normalised path is a fixed point and holds no empty, '.' or
// '..' segment, and nothing a backend could decode into one (issue #22).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "core/request_target.h"

namespace portcullis::core {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int upper_hex(char h) {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

/// Why `path` (a normalised path, without query) breaks a property, or "".
std::string violation(std::string_view path, bool keep_slash) {
  if (path.empty() || path.front() != '/') return "does not start with /";
  std::size_t start = 1;
  for (;;) {
    const auto slash = path.find('/', start);
    const bool last = slash == std::string_view::npos;
    const auto seg = path.substr(start, last ? path.npos : slash - start);
    if (seg.empty() && !last) return "has an empty segment";
    const auto name = seg.substr(0, seg.find(';'));
    if (name == "." || name == "..") return "has a dot segment";
    if (last) break;
    start = slash + 1;
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#' || c == '?') return "has a raw byte";
    if (c != '%') continue;
    if (i + 2 >= path.size()) return "has a cut escape";
    const int hi = upper_hex(path[i + 1]);
    const int lo = upper_hex(path[i + 2]);
    if (hi < 0 || lo < 0) return "has an escape that is not upper-case hex";
    const auto v = static_cast<unsigned char>(hi * 16 + lo);
    if (is_unreserved(v)) return "keeps an unreserved character encoded";
    if (v == 0 || v == '\\' || (v == '/' && !keep_slash)) return "keeps %00, %5C or %2F";
  }
  return {};
}

TEST(NormalizeTargetProperties, HoldForGeneratedTargets) {
  static constexpr std::string_view kPieces[] = {
      "/",        "/", ".",      "..",  "%2e",  "%2E",  "%2f", "%",      ";",   "a",
      "%41",      "?", "%c3%a9", "\\",  ":",    "@",    "[",   "]",      "%25", "~",
      "%7e",      "x", "//",     "/./", "/../", ";x=1", "%00", "%5c",    "|",   "%7C",
      "\xc3\xa9", "#", "%c0%ae", "*",   " ",    "1",    "80",  "%2E%2e", "..;", "%3b"};
  std::mt19937 rng(22);
  std::size_t accepted = 0;
  for (int it = 0; it < 200000; ++it) {
    std::string target = rng() % 8 != 0 ? "/" : "";
    const auto n = rng() % 10;
    for (unsigned i = 0; i < n; ++i) target += kPieces[rng() % std::size(kPieces)];
    for (const bool keep : {false, true}) {
      const TargetPolicy policy{.keep_encoded_slash = keep};
      const auto once = normalize_target(target, policy);
      if (!once) continue;
      ++accepted;
      const auto twice = normalize_target(*once, policy);
      ASSERT_TRUE(twice) << target << " -> " << *once << ": " << twice.error();
      ASSERT_EQ(*twice, *once) << target;
      if (*once == "*") continue;
      const auto bad = violation(std::string_view(*once).substr(0, once->find('?')), keep);
      ASSERT_EQ(bad, "") << target << " -> " << *once;
    }
  }
  EXPECT_GT(accepted, 50000u);  // the stream reaches the normaliser's accepting paths
}

}  // namespace
}  // namespace portcullis::core

// Lower-case hex of bytes, for tests that compare against known-answer vectors.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace portcullis::testing {

inline std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace portcullis::testing

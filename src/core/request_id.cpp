// Request id generation: per-thread random prefix (from the OS) and a per-thread counter.
#include "core/request_id.h"

#include <cstdint>
#include <random>

namespace portcullis::core {

std::string new_request_id() {
  thread_local const std::uint64_t prefix = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  thread_local std::uint32_t counter = 0;
  // 12 hex chars of the prefix, 8 of the counter (by hand: this runs for every request).
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(20, '0');
  std::uint64_t p = prefix & 0xFFFFFFFFFFFFull;
  for (int i = 11; i >= 0; --i, p >>= 4) out[static_cast<std::size_t>(i)] = kHex[p & 0xF];
  std::uint32_t c = ++counter;
  for (int i = 19; i >= 12; --i, c >>= 4) out[static_cast<std::size_t>(i)] = kHex[c & 0xF];
  return out;
}

}  // namespace portcullis::core

// Request id generation: per-thread random prefix (from the OS) and a per-thread counter.
#include "core/request_id.h"

#include <fmt/format.h>

#include <cstdint>
#include <random>

namespace portcullis::core {

std::string new_request_id() {
  thread_local const std::uint64_t prefix = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  thread_local std::uint32_t counter = 0;
  // 12 hex chars of the prefix, 8 of the counter.
  return fmt::format("{:012x}{:08x}", prefix & 0xFFFFFFFFFFFFull, ++counter);
}

}  // namespace portcullis::core

// libFuzzer target: core::normalize_target and route::normalize_host on arbitrary bytes. Beyond
// "never crashes", it checks the properties routing relies on: a normalised path is a fixed
// point, holds no empty, '.' or '..' segment, and nothing a backend could decode into one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/request_target.h"
#include "route/host_header.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void check_path(std::string_view path, bool keep_slash) {
  require(!path.empty() && path.front() == '/');
  std::size_t start = 1;
  for (;;) {
    const auto slash = path.find('/', start);
    const auto seg = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    const bool last = slash == std::string_view::npos;
    require(!seg.empty() || last);  // only a trailing slash leaves an empty segment
    const auto name = seg.substr(0, seg.find(';'));
    require(name != "." && name != "..");
    if (last) break;
    start = slash + 1;
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    require(c > 0x20 && c < 0x7f && c != '\\' && c != '#' && c != '?');
    if (c != '%') continue;
    require(i + 2 < path.size());
    const auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
    require(hex(path[i + 1]) && hex(path[i + 2]));
    const auto v = static_cast<unsigned char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16));
    require(!is_unreserved(v) && v != 0 && v != '\\' && (keep_slash || v != '/'));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const bool keep : {false, true}) {
    const portcullis::core::TargetPolicy policy{.keep_encoded_slash = keep};
    const auto once = portcullis::core::normalize_target(input, policy);
    if (!once) continue;
    const auto twice = portcullis::core::normalize_target(*once, policy);
    require(twice && *twice == *once);
    if (*once == "*") continue;
    check_path(std::string_view(*once).substr(0, once->find('?')), keep);
  }
  if (const auto host = portcullis::route::normalize_host(input)) {
    const auto again = portcullis::route::normalize_host(*host);
    require(again && *again == *host);
  }
  return 0;
}

// IP parsing via inet_pton; IPv4 kept as IPv4-mapped IPv6.
#include "core/ip_network.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace portcullis::core {
namespace {
constexpr std::array<std::uint8_t, 12> kV4Prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes.data(), kV4Prefix.data(), 12) == 0;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes[12] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoop{0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
  return bytes == kLoop;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  std::uint8_t v4[4];
  if (::inet_pton(AF_INET, s.c_str(), v4) == 1) {
    std::memcpy(a.bytes.data(), kV4Prefix.data(), 12);
    std::memcpy(a.bytes.data() + 12, v4, 4);
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool IpNetwork::contains(const IpAddress& addr) const {
  int bits = prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((addr.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  IpNetwork net{*addr, 128};
  if (slash == std::string_view::npos) return net;
  const auto len_text = text.substr(slash + 1);
  int len = -1;
  auto [p, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  const int max = addr->is_v4() ? 32 : 128;
  if (ec != std::errc{} || p != len_text.data() + len_text.size() || len < 0 || len > max) {
    return std::nullopt;
  }
  net.prefix = addr->is_v4() ? len + 96 : len;
  return net;
}

}  // namespace portcullis::core

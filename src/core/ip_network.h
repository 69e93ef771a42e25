// IP addresses and CIDR networks (IPv4 and IPv6) for errors.detail_networks and, later, authz
// `source` rules. Pure: parsing and matching only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::core {

/// An IPv4 address is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d) so one type covers both.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4() const;
  bool is_loopback() const;
  std::string to_string() const;
  static std::optional<IpAddress> parse(std::string_view text);
};

struct IpNetwork {
  IpAddress base;
  int prefix = 128;  ///< in IPv6 bits (an IPv4 /8 is stored as /104)
  bool contains(const IpAddress& addr) const;
  /// "10.0.0.0/8", "::1/128", or a bare address (a host network).
  static std::optional<IpNetwork> parse(std::string_view text);
};

}  // namespace portcullis::core

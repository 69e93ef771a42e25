// "host:port" addresses of the configuration: listener and admin addresses (IP literals, so a
// bind never depends on DNS) and upstream endpoints (IP literals or DNS names).
#pragma once

#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace portcullis::config {

enum class EndpointKind {
  Listen,   ///< "IP:port" or "[IPv6]:port"; port 0..65535 (0 = any free port)
  Connect,  ///< "host:port" or "[IPv6]:port", host an IP literal or a DNS name; port 1..65535
};

/// Parses an address. The host is stored without brackets; the origin is left for the caller.
/// Errors say which form was expected ("IPv6 addresses need brackets: [::1]:8443").
core::Result<Endpoint> parse_endpoint(std::string_view text, EndpointKind kind);

/// A syntactically valid DNS name: dot-separated labels of letters, digits, '-' and '_' (1..63
/// characters, no leading or trailing '-'), at most 253 characters, not all-numeric at the end
/// (so "300.1.1.1" is neither an address nor a name). One trailing dot is allowed.
bool is_dns_name(std::string_view text);

}  // namespace portcullis::config

// The Host header as routing and the upstream see it: validated as `host[:port]` (RFC 9112 3.2,
// RFC 3986 3.2.2) and normalised once, before routing. Pure.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace portcullis::route {

/// Validates a Host header value: a reg-name (letters, digits, '-', '.', '_'), an IPv4 address or
/// a bracketed IPv6 address, optionally followed by ':' and a port (1-5 digits, at most 65535).
/// Returns the normalised value (lower case, one trailing dot of a name removed, the port as
/// sent without leading zeros), or why it is refused (for the denial's detail).
std::expected<std::string, std::string> normalize_host(std::string_view value);

}  // namespace portcullis::route

// Absolute http:// and https:// URLs of the targets the gateway itself calls (JWKS endpoints,
// auth services): scheme, host, port and request target. Pure: parsing only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portcullis::core {

/// A parsed absolute URL. `host` is lower-case, IPv6 literals without brackets.
struct Url {
  std::string scheme;  ///< "http" or "https"
  std::string host;
  std::uint16_t port = 0;    ///< explicit, or 80 / 443 from the scheme
  std::string target = "/";  ///< path and query, never empty; the fragment is dropped

  bool https() const { return scheme == "https"; }
  /// "host:port", with brackets around an IPv6 literal: the Host header and the CONNECT target.
  std::string authority() const;
  /// The URL as text: scheme://authority/target (default ports omitted).
  std::string text() const;
};

/// Parses an absolute http(s) URL. Refuses other schemes, user information ("user:pass@": a
/// secret in a URL ends up in logs), an empty host, a bad port and whitespace.
Result<Url> parse_url(std::string_view text);

}  // namespace portcullis::core

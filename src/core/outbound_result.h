// What an outgoing HTTP call (to a JWKS endpoint, an auth service) answered, or which step
// failed and why. Pure data: net/ fills it, authn/ and proxy/ decide from it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::core {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

enum class OutboundFailure {
  None,
  Dns,                ///< the name does not resolve
  Connect,            ///< refused, unreachable, reset before an answer
  Timeout,            ///< the deadline passed (the detail says during which step)
  TlsUntrusted,       ///< the server's certificate failed verification
  Tls,                ///< any other handshake failure
  ProtocolMismatch,   ///< TLS spoken to a plain HTTP server, or plain HTTP to a TLS server
  BadResponse,        ///< the answer is not HTTP/1.x
  TooLarge,           ///< the body exceeds max_body
  ProxyAuthRequired,  ///< the outbound proxy answered 407
  ProxyRefused,       ///< the outbound proxy refused the CONNECT (or could not reach the target)
};

/// "dns", "connect", "timeout", "tls_untrusted", "tls", "protocol_mismatch", "bad_response",
/// "too_large", "proxy_auth_required", "proxy_refused" ("none" for success).
std::string_view to_string(OutboundFailure failure);

struct OutboundResponse {
  int status = 0;
  std::string reason;
  HeaderPairs headers;
  std::string body;
  /// The first header named `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

struct OutboundResult {
  OutboundFailure failure = OutboundFailure::None;
  std::string detail;              ///< what failed and why (empty on success)
  std::vector<std::string> chain;  ///< TLS failures: the certificates the server presented
  OutboundResponse response;       ///< valid when failure == None
  bool ok() const { return failure == OutboundFailure::None; }
};

}  // namespace portcullis::core

// One HTTP/1.1 request from the gateway to a service it depends on (a JWKS endpoint, an auth
// service): resolve, connect, TLS with the target's own trust, send, read the whole answer, all
// under one deadline, and on failure say which step failed and why (DNS, refused, timeout,
// untrusted certificate, plain HTTP on a TLS port and the reverse).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/url.h"

namespace boost::asio::ssl {
class context;
}

namespace portcullis::net {

enum class OutboundFailure {
  None,
  Dns,               ///< the name does not resolve
  Connect,           ///< refused, unreachable, reset before an answer
  Timeout,           ///< the deadline passed (the detail says during which step)
  TlsUntrusted,      ///< the server's certificate failed verification
  Tls,               ///< any other handshake failure
  ProtocolMismatch,  ///< TLS spoken to a plain HTTP server, or plain HTTP to a TLS server
  BadResponse,       ///< the answer is not HTTP/1.x
  TooLarge,          ///< the body exceeds max_body
};

/// "dns", "connect", "timeout", "tls_untrusted", "tls", "protocol_mismatch", "bad_response",
/// "too_large" ("none" for success).
std::string_view to_string(OutboundFailure failure);

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

struct OutboundRequest {
  std::string method = "GET";
  core::Url url;
  HeaderPairs headers;  ///< sent as given; Host, Content-Length and Connection are added
  std::string body;
  std::chrono::milliseconds timeout{5000};   ///< the whole exchange, from resolution to body
  boost::asio::ssl::context* tls = nullptr;  ///< client context; required for https URLs
  std::size_t max_body = 1024 * 1024;
};

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

/// Performs `request` on the calling coroutine's executor. Never throws; the connection is
/// closed afterwards (`Connection: close`).
boost::asio::awaitable<OutboundResult> send_outbound(const OutboundRequest& request);

}  // namespace portcullis::net

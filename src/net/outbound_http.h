// One HTTP/1.1 request from the gateway to a service it depends on (a JWKS endpoint, an auth
// service): resolve, connect, TLS with the target's own trust, send, read the whole answer, all
// under one deadline, and on failure say which step failed and why (DNS, refused, timeout,
// untrusted certificate, plain HTTP on a TLS port and the reverse).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outbound_result.h"
#include "core/proxy_select.h"
#include "core/url.h"

namespace boost::asio::ssl {
class context;
}

namespace portcullis::net {

using core::HeaderPairs;
using core::OutboundFailure;
using core::OutboundResponse;
using core::OutboundResult;

struct OutboundRequest {
  std::string method = "GET";
  core::Url url;
  HeaderPairs headers;  ///< sent as given; Host, Content-Length and Connection are added
  std::string body;
  std::chrono::milliseconds timeout{5000};   ///< the whole exchange, from resolution to body
  boost::asio::ssl::context* tls = nullptr;  ///< client context; required for https URLs
  std::size_t max_body = 1024 * 1024;
  /// Through this HTTP proxy: CONNECT for https URLs, an absolute-form request for http URLs.
  std::optional<core::ProxyUrl> proxy;
};

/// Performs `request` on the calling coroutine's executor. Never throws; the connection is
/// closed afterwards (`Connection: close`).
boost::asio::awaitable<OutboundResult> send_outbound(const OutboundRequest& request);

}  // namespace portcullis::net

// Outgoing connections through an HTTP proxy: the CONNECT handshake (for TLS targets) and the
// Proxy-Authorization value, with the proxy's refusals explained (407 and its scheme, a refused
// CONNECT and the proxy's status). Used by callouts, JWKS fetches and upstreams.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

#include "core/outbound_result.h"
#include "core/proxy_select.h"
#include "proxy/transport.h"

namespace portcullis::net {

/// "Basic base64(user:password)" when the proxy URL has credentials, else "".
std::string proxy_authorization(const core::ProxyUrl& proxy);

/// Asks the proxy behind `transport` (connected, with its deadline set) to open a tunnel to
/// `authority` ("host:port"). Success: failure == None and the transport carries the tunnel.
/// A 407 is ProxyAuthRequired (the detail names the proxy and its Proxy-Authenticate schemes);
/// any other non-2xx answer is ProxyRefused with the proxy's status line.
boost::asio::awaitable<core::OutboundResult> open_tunnel(proxy::Transport& transport,
                                                         const core::ProxyUrl& proxy,
                                                         const std::string& authority);

/// The detail for a 407 from `proxy`: "proxy http://user@host:port answered 407 Proxy
/// Authentication Required (it asks for: Basic realm="..."); ..." with what to do.
std::string proxy_auth_detail(const core::ProxyUrl& proxy, const std::string& proxy_authenticate,
                              std::string_view status = "407 Proxy Authentication Required");

}  // namespace portcullis::net

// The request pipeline: serves every request of one client connection through the stages of
// DESIGN.md (parse, sanitize, route, authn, authz, forward or deny, account).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "core/ip_network.h"
#include "pki/verdict.h"
#include "proxy/blocking.h"
#include "proxy/fast_lane.h"
#include "proxy/runtime.h"
#include "proxy/transport.h"
#include "proxy/upstream_dialer.h"

namespace portcullis::proxy {

/// Per-connection state shared with the worker that owns the connection (same thread only).
struct ConnectionContext {
  std::shared_ptr<const Runtime> runtime;  ///< the snapshot this connection serves with
  const ListenerRuntime* listener = nullptr;
  core::IpAddress peer;
  std::string peer_text;  ///< "127.0.0.1"
  TlsFacts tls;
  /// The client-certificate verdict (listeners with client_auth only; null otherwise).
  std::shared_ptr<const pki::Verdict> client_cert;
  std::string client_cert_pem;  ///< the presented leaf, when a route sends it upstream
  UpstreamDialer* dialer = nullptr;
  BlockingRunner* blocking = nullptr;  ///< for password hashing and credential-file reloads
  FastLane* lane = nullptr;            ///< the worker's fast lane, if it offers one
  const bool* draining = nullptr;      ///< set by the worker on shutdown: finish, then close
  bool idle = false;                   ///< true while waiting for the next request (closable)
};

/// Serves requests until the client closes, an error closes the connection, or draining.
boost::asio::awaitable<void> serve_connection(ConnectionContext& ctx, Transport& client);

}  // namespace portcullis::proxy

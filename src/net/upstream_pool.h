// A worker's upstream connections: DNS, connect, TLS, idle keep-alive reuse and round robin.
// One pool per worker thread, so it needs no locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <vector>

#include "core/proxy_select.h"
#include "proxy/runtime.h"
#include "proxy/upstream_dialer.h"

namespace portcullis::net {

class PooledConnection;

class UpstreamPool final : public proxy::UpstreamDialer {
 public:
  /// `tls[i]` is the client context of runtime upstream i (nullptr = plain TCP).
  UpstreamPool(boost::asio::io_context& io, const proxy::Runtime& runtime,
               const std::vector<boost::asio::ssl::context*>& tls);
  ~UpstreamPool() override;

  boost::asio::awaitable<proxy::DialResult> acquire(std::size_t index, proxy::Reuse reuse) override;
  void release(std::unique_ptr<proxy::UpstreamConnection> connection, bool reusable) override;

  /// Closes every idle connection (shutdown).
  void close_idle();

 private:
  struct EndpointState {
    const config::Endpoint* endpoint;
    std::string label;
    std::vector<std::unique_ptr<PooledConnection>> idle;
    std::optional<core::ProxyUrl> proxy;  ///< upstreams.<name>.proxy for this endpoint
  };
  struct UpstreamState {
    const config::UpstreamConfig* config;
    boost::asio::ssl::context* tls;
    std::vector<EndpointState> endpoints;
    std::size_t next = 0;
  };

  boost::asio::awaitable<proxy::DialResult> dial(UpstreamState& up, EndpointState& ep,
                                                 std::size_t index);

  boost::asio::io_context& io_;
  std::vector<UpstreamState> upstreams_;
};

}  // namespace portcullis::net

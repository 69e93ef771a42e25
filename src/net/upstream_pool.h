// A worker's upstream connections: DNS, connect, TLS, idle keep-alive reuse and round robin.
// One pool per worker thread, so it needs no locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/proxy_select.h"
#include "proxy/runtime.h"
#include "proxy/upstream_dialer.h"

namespace portcullis::net {

class PooledConnection;

/// An idle keep-alive connection is usable when the peer has neither closed it nor sent anything
/// unsolicited (a TLS close_notify counts as unsolicited). SECURITY: checked before every reuse:
/// a late extra response from an upstream would otherwise reach the next client.
bool idle_connection_alive(int fd);

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

  // ---- for the worker's fast lane (net/fast_lane.h), which keeps plain connections itself ----
  /// The endpoint acquire() would pick next (round robin), and moving past it once used.
  std::size_t peek_endpoint(std::size_t index) const {
    const auto& up = upstreams_[index];
    return up.next % up.endpoints.size();
  }
  void advance_endpoint(std::size_t index) { ++upstreams_[index].next; }
  const std::string& endpoint_label(std::size_t index, std::size_t ei) const {
    return upstreams_[index].endpoints[ei].label;
  }
  int max_idle(std::size_t index) const { return upstreams_[index].config->max_idle; }
  /// Plain TCP, not through an outbound proxy: connections the lane can use.
  bool lane_capable(std::size_t index, std::size_t ei) const;
  /// An idle connection of endpoint `ei` taken out of the pool and the reactor: its descriptor,
  /// or -1 when there is none (or the endpoint is not lane_capable).
  int take_idle_socket(std::size_t index, std::size_t ei);
  /// Idle connections of endpoint `ei` in the pool (the lane keeps max_idle for both).
  std::size_t idle_count(std::size_t index, std::size_t ei) const {
    return upstreams_[index].endpoints[ei].idle.size();
  }
  /// Where acquire() finds an idle connection the pool has none of: the lane's idle list (a
  /// descriptor taken out of the lane, or -1).
  void set_idle_lender(std::function<int(std::size_t index, std::size_t ei)> lender) {
    lender_ = std::move(lender);
  }
  /// A descriptor the lane held, as a reused connection of endpoint `ei` again.
  std::unique_ptr<proxy::UpstreamConnection> adopt(std::size_t index, std::size_t ei, int fd);

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
  std::function<int(std::size_t, std::size_t)> lender_;
};

}  // namespace portcullis::net

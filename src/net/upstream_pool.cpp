// Upstream dialing with precise failure codes, and the per-worker idle pool.
#include "net/upstream_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include "net/dial_errors.h"
#include "net/proxy_tunnel.h"
#include "net/transports.h"
#include "pki/openssl_ptr.h"

namespace portcullis::net {

using core::DenialCode;

/// An upstream connection owned by the pool or lent to one exchange.
class PooledConnection final : public proxy::UpstreamConnection {
 public:
  PooledConnection(std::unique_ptr<proxy::Transport> transport, std::string endpoint,
                   std::size_t upstream, std::size_t endpoint_index)
      : transport_(std::move(transport)),
        endpoint_(std::move(endpoint)),
        upstream_(upstream),
        endpoint_index_(endpoint_index) {}

  proxy::Transport& transport() override { return *transport_; }
  const std::string& endpoint() const override { return endpoint_; }
  bool reused() const override { return reused_; }
  const std::string* absolute_prefix() const override {
    return absolute_prefix_.empty() ? nullptr : &absolute_prefix_;
  }
  const std::string& proxy_authorization() const override { return proxy_authorization_; }
  const std::string& via_proxy() const override { return via_proxy_; }

  /// Marks the connection as going through `proxy` (absolute form when `absolute`).
  void set_proxy(const core::ProxyUrl& proxy, bool absolute, std::string prefix) {
    via_proxy_ = "proxy " + proxy.display();
    if (absolute) {
      absolute_prefix_ = std::move(prefix);
      proxy_authorization_ = net::proxy_authorization(proxy);
    }
  }

  void mark_reused() { reused_ = true; }
  std::size_t upstream() const { return upstream_; }
  std::size_t endpoint_index() const { return endpoint_index_; }
  int native_fd() {
    if (auto* tcp = dynamic_cast<TcpTransport*>(transport_.get())) {
      return tcp->socket().native_handle();
    }
    if (auto* tls = dynamic_cast<TlsTransport*>(transport_.get())) {
      return tls->socket().native_handle();
    }
    return -1;
  }

 private:
  std::unique_ptr<proxy::Transport> transport_;
  std::string endpoint_;
  std::size_t upstream_;
  std::size_t endpoint_index_;
  bool reused_ = false;
  std::string absolute_prefix_;
  std::string proxy_authorization_;
  std::string via_proxy_;
};

namespace {

using asio::redirect_error;
using asio::use_awaitable;

/// idle_connection_alive, and nothing the upstream sent waits in the transport's own buffers.
bool idle_and_empty(int fd, const proxy::Transport& transport) {
  return !transport.has_buffered_input() && idle_connection_alive(fd);
}

}  // namespace

bool idle_connection_alive(int fd) {
  if (fd < 0) return false;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

UpstreamPool::UpstreamPool(asio::io_context& io, const proxy::Runtime& runtime,
                           const std::vector<asio::ssl::context*>& tls)
    : io_(io) {
  for (std::size_t i = 0; i < runtime.upstreams.size(); ++i) {
    const auto* cfg = runtime.upstreams[i];
    UpstreamState up{cfg, i < tls.size() ? tls[i] : nullptr, {}, 0};
    const auto env = core::ProxyEnv::from_environment();
    for (const auto& ep : cfg->endpoints) {
      auto choice = core::choose_proxy(cfg->proxy.setting, up.tls ? "https" : "http", ep.host, env);
      up.endpoints.push_back({&ep, ep.to_string(), {}, std::move(choice.proxy)});
    }
    upstreams_.push_back(std::move(up));
  }
}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::close_idle() {
  for (auto& up : upstreams_) {
    for (auto& ep : up.endpoints) {
      for (auto& c : ep.idle) c->transport().close();
      ep.idle.clear();
    }
  }
}

asio::awaitable<proxy::DialResult> UpstreamPool::acquire(std::size_t index, proxy::Reuse reuse) {
  auto& up = upstreams_[index];
  const std::size_t count = up.endpoints.size();
  proxy::DialResult last;
  std::string failures;
  for (std::size_t tried = 0; tried < count; ++tried) {
    const std::size_t ei = up.next++ % count;
    auto& ep = up.endpoints[ei];
    while (reuse != proxy::Reuse::Fresh && !ep.idle.empty()) {
      auto conn = std::move(ep.idle.back());
      ep.idle.pop_back();
      if (!idle_and_empty(conn->native_fd(), conn->transport())) {
        conn->transport().close();
        continue;
      }
      conn->mark_reused();
      co_return proxy::DialResult{std::move(conn), {}, ep.label};
    }
    // The fast lane keeps idle connections of its own: borrow one rather than dial.
    while (reuse != proxy::Reuse::Fresh && lender_) {
      const int fd = lender_(index, ei);
      if (fd < 0) break;
      if (!idle_connection_alive(fd)) {
        ::close(fd);
        continue;
      }
      co_return proxy::DialResult{adopt(index, ei, fd), {}, ep.label};
    }
    auto result = co_await dial(up, ep, ei);
    if (result.connection) co_return result;
    // Try the next endpoint; the denial reports every endpoint that failed.
    if (!failures.empty()) failures += "; ";
    failures += result.denial.detail;
    last = std::move(result);
  }
  last.denial.detail = failures;
  co_return last;
}

asio::awaitable<proxy::DialResult> UpstreamPool::dial(UpstreamState& up, EndpointState& ep,
                                                      std::size_t ei) {
  const auto& cfg = *up.config;
  const auto& endpoint = *ep.endpoint;
  const core::ProxyUrl* via = ep.proxy ? &*ep.proxy : nullptr;
  const std::string through = via ? " through proxy " + via->display() : "";
  auto fail = [&](DenialCode code, std::string what) {
    return proxy::DialResult{nullptr,
                             core::make_denial(code, "upstream \"" + cfg.name + "\" endpoint " +
                                                         ep.label + through + ": " + what),
                             ep.label};
  };

  error_code ec;
  asio::ip::tcp::resolver resolver(io_);
  const std::string& host = via ? via->host : endpoint.host;
  const auto results = co_await resolver.async_resolve(
      host, std::to_string(via ? via->port : endpoint.port), redirect_error(use_awaitable, ec));
  if (ec) {
    co_return fail(
        is_dns_error(ec) ? DenialCode::UpstreamDnsFailed : DenialCode::UpstreamConnectFailed,
        std::string(via ? "cannot resolve the proxy host \"" : "cannot resolve \"") + host +
            "\": " + ec.message());
  }

  auto tcp = std::make_unique<TcpTransport>(io_.get_executor());
  tcp->expires_after(cfg.connect_timeout);
  ec = co_await tcp->connect(results);
  if (ec == beast::error::timeout) {
    co_return fail(DenialCode::UpstreamTimeout,
                   std::string(via ? "connecting to the proxy" : "connect") + " timed out after " +
                       std::to_string(cfg.connect_timeout.count()) + " ms");
  }
  if (ec) {
    co_return fail(
        DenialCode::UpstreamConnectFailed,
        std::string(via ? "connect to the proxy failed: " : "connect failed: ") + ec.message());
  }
  tcp->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  const auto index = static_cast<std::size_t>(&up - upstreams_.data());

  if (!up.tls) {
    tcp->expires_never();
    auto conn = std::make_unique<PooledConnection>(std::move(tcp), ep.label, index, ei);
    if (via) conn->set_proxy(*via, true, "http://" + endpoint.to_string());
    co_return proxy::DialResult{std::move(conn), {}, ep.label};
  }
  if (via) {
    auto tunnel = co_await open_tunnel(*tcp, *via, endpoint.to_string());
    if (!tunnel.ok()) {
      tcp->close();
      const auto code = tunnel.failure == core::OutboundFailure::ProxyAuthRequired
                            ? DenialCode::UpstreamProxyAuthRequired
                        : tunnel.failure == core::OutboundFailure::Timeout
                            ? DenialCode::UpstreamTimeout
                            : DenialCode::UpstreamProxyRefused;
      co_return fail(code, tunnel.detail);
    }
  }
  auto tls = std::make_unique<TlsTransport>(std::move(tcp->socket()), *up.tls);
  const std::string sni = cfg.tls && !cfg.tls->sni.empty() ? cfg.tls->sni : endpoint.host;
  ec = co_await tls->handshake_client(sni, sni, cfg.connect_timeout);
  if (ec == beast::error::timeout) {
    co_return fail(
        DenialCode::UpstreamTimeout,
        "TLS handshake timed out after " + std::to_string(cfg.connect_timeout.count()) + " ms");
  }
  if (ec) {
    co_return fail(DenialCode::UpstreamTlsFailed,
                   "TLS handshake failed: " + tls_failure_text(tls->native(), ec));
  }
  tls->expires_never();
  auto conn = std::make_unique<PooledConnection>(std::move(tls), ep.label, index, ei);
  if (via) conn->set_proxy(*via, false, {});
  co_return proxy::DialResult{std::move(conn), {}, ep.label};
}

bool UpstreamPool::lane_capable(std::size_t index, std::size_t ei) const {
  const auto& up = upstreams_[index];
  return up.tls == nullptr && !up.endpoints[ei].proxy;
}

int UpstreamPool::take_idle_socket(std::size_t index, std::size_t ei) {
  if (!lane_capable(index, ei)) return -1;
  auto& idle = upstreams_[index].endpoints[ei].idle;
  while (!idle.empty()) {
    auto conn = std::move(idle.back());
    idle.pop_back();
    auto* tcp = dynamic_cast<TcpTransport*>(&conn->transport());
    if (tcp == nullptr || !tcp->socket().is_open()) continue;
    // Checked once as it moves to the lane, which then watches it for a close itself.
    if (!idle_connection_alive(tcp->socket().native_handle())) {
      tcp->close();
      continue;
    }
    error_code ec;
    const int fd = tcp->socket().release(ec);  // deregisters from the reactor; stays open
    if (!ec) return fd;
  }
  return -1;
}

std::unique_ptr<proxy::UpstreamConnection> UpstreamPool::adopt(std::size_t index, std::size_t ei,
                                                               int fd) {
  auto& ep = upstreams_[index].endpoints[ei];
  error_code ec;
  asio::ip::tcp::socket socket(io_);
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  const bool v6 = ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
                  local.ss_family == AF_INET6;
  socket.assign(v6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
  if (ec) ::close(fd);
  auto conn = std::make_unique<PooledConnection>(std::make_unique<TcpTransport>(std::move(socket)),
                                                 ep.label, index, ei);
  conn->mark_reused();
  return conn;
}

void UpstreamPool::release(std::unique_ptr<proxy::UpstreamConnection> connection, bool reusable) {
  if (!connection) return;
  auto* pooled = static_cast<PooledConnection*>(connection.get());
  auto& up = upstreams_[pooled->upstream()];
  auto& ep = up.endpoints[pooled->endpoint_index()];
  if (!reusable || static_cast<int>(ep.idle.size()) >= up.config->max_idle ||
      !pooled->transport().is_open()) {
    pooled->transport().close();
    return;
  }
  pooled->transport().expires_never();
  connection.release();
  ep.idle.emplace_back(pooled);
}

}  // namespace portcullis::net

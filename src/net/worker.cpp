// Worker: acceptors with SO_REUSEPORT, one coroutine per connection, drain on shutdown.
#include "net/worker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <sys/socket.h>

#include "core/log.h"
#include "net/transports.h"
#include "proxy/handshake_log.h"

namespace portcullis::net {

using asio::redirect_error;
using asio::use_awaitable;
using core::LogLevel;

struct Worker::Acceptor {
  asio::ip::tcp::acceptor acceptor;
  const proxy::ListenerRuntime* listener;
  asio::ssl::context* tls;
  const ClientAuth* client_auth;  ///< nullptr = no client certificates on this listener
};

Worker::Worker(int id, std::shared_ptr<const proxy::Runtime> runtime, const TlsContexts& tls,
               proxy::BlockingRunner& blocking)
    : id_(id), runtime_(std::move(runtime)), tls_(tls), blocking_(blocking) {
  std::vector<asio::ssl::context*> upstream_tls;
  for (const auto& c : tls_.upstreams) upstream_tls.push_back(c.get());
  pool_ = std::make_unique<UpstreamPool>(io_, *runtime_, upstream_tls);
  if (runtime_->config.fast_lane) lane_ = FastLaneLoop::create(io_, *pool_);
  if (lane_) {
    pool_->set_idle_lender([lane = lane_.get()](std::size_t upstream, std::size_t ei) {
      return lane->lend(upstream, ei);
    });
  }
}

Worker::~Worker() = default;

core::Result<void> Worker::open_acceptors(std::vector<std::uint16_t>& ports) {
  ports.resize(runtime_->listeners.size(), 0);
  for (std::size_t i = 0; i < runtime_->listeners.size(); ++i) {
    const auto& lr = runtime_->listeners[i];
    const auto& ep = lr.config->listen;
    error_code ec;
    const auto address = asio::ip::make_address(ep.host, ec);
    if (ec) return core::fail("not an IP address: " + ep.host, ep.origin.path, ep.origin.line);
    const asio::ip::tcp::endpoint endpoint(address, ports[i] != 0 ? ports[i] : ep.port);
    auto acc = std::make_unique<Acceptor>(
        Acceptor{asio::ip::tcp::acceptor(io_), &lr, tls_.listeners[i].get(),
                 tls_.client_auth.size() > i ? tls_.client_auth[i].get() : nullptr});
    auto& a = acc->acceptor;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;
      if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec = error_code(errno, boost::system::system_category());
      }
    }
    if (!ec && address.is_v6()) a.set_option(asio::ip::v6_only(true), ec);
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux: one setsockopt per
    // listener instead of one per connection (tests/unit/net/accept_options_test.cpp).
    if (!ec) a.set_option(asio::ip::tcp::no_delay(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return core::fail("cannot listen on " + ep.to_string() + ": " + ec.message(), ep.origin.path,
                        ep.origin.line);
    }
    ports[i] = a.local_endpoint(ec).port();
    acceptors_.push_back(std::move(acc));
  }
  return {};
}

void Worker::run() {
  for (auto& a : acceptors_) asio::co_spawn(io_, accept_loop(*a), asio::detached);
  io_.run();
}

void Worker::begin_drain() {
  asio::post(io_, [this] {
    draining_ = true;
    for (auto& a : acceptors_) {
      error_code ec;
      a->acceptor.close(ec);
    }
    pool_->close_idle();
    if (lane_) lane_->drain();
    for (auto& s : sessions_) {
      if (s.context->idle) s.transport->close();
    }
  });
}

void Worker::stop() {
  io_.stop();
}

asio::awaitable<void> Worker::accept_loop(Acceptor& acceptor) {
  for (;;) {
    error_code ec;
    // The peer's address comes with the accept itself (no getpeername per connection).
    asio::ip::tcp::endpoint peer;
    auto socket = co_await acceptor.acceptor.async_accept(peer, redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning, keep serving existing connections.
      core::log(LogLevel::Warn, "worker {}: accept on {} failed: {}", id_,
                acceptor.listener->config->name, ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    asio::co_spawn(io_, session(std::move(socket), peer, acceptor), asio::detached);
  }
}

asio::awaitable<void> Worker::session(asio::ip::tcp::socket socket, asio::ip::tcp::endpoint remote,
                                      Acceptor& acceptor) {
  const proxy::ListenerRuntime& listener = *acceptor.listener;
  open_.fetch_add(1, std::memory_order_relaxed);
  runtime_->metrics->connection_opened(listener.gauges);
  proxy::ConnectionContext ctx;
  ctx.runtime = runtime_;
  ctx.listener = &listener;
  ctx.dialer = pool_.get();
  ctx.lane = lane_.get();
  ctx.blocking = &blocking_;
  ctx.draining = &draining_;
  ctx.peer_text =
      remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()
          ? asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).to_string()
          : remote.address().to_string();
  ctx.peer = core::IpAddress::parse(ctx.peer_text).value_or(core::IpAddress{});
  std::unique_ptr<proxy::Transport> transport;
  try {
    if (acceptor.tls) {
      auto t = std::make_unique<TlsTransport>(std::move(socket), *acceptor.tls);
      const auto hs = co_await t->handshake_server(listener.config->limits.handshake_timeout);
      if (acceptor.client_auth) {
        ctx.client_cert = t->client_verdict(*acceptor.client_auth);
        if (listener.wants_client_cert_pem) ctx.client_cert_pem = t->peer_certificate_pem();
      }
      if (hs) {
        log_failed_handshake(ctx, acceptor, t->certificate_refused(), hs);
        // An alert the library sent (SSL error category) must reach the client.
        if (hs.category() == asio::error::get_ssl_category()) {
          co_await t->close_after_alert();
        } else {
          t->close();
        }
      } else {
        // A verdict counts once per completed handshake (a refused one is counted by
        // log_failed_handshake); probes that never finish a handshake are not verdicts.
        if (ctx.client_cert) {
          runtime_->metrics->count_client_verdict(ctx.client_cert->code, ctx.client_cert->ok());
        }
        runtime_->metrics->count_tls_handshake(SSL_session_reused(t->native()) == 1);
        ctx.tls = t->facts();
        transport = std::move(t);
      }
    } else {
      transport = std::make_unique<TcpTransport>(std::move(socket));
    }
    if (transport) {
      sessions_.push_back({&ctx, transport.get()});
      auto self = std::prev(sessions_.end());
      try {
        co_await proxy::serve_connection(ctx, *transport);
      } catch (const std::exception& e) {
        core::log(LogLevel::Error, "listener {}: connection from {} closed after an error: {}",
                  listener.config->name, ctx.peer_text, e.what());
        transport->close();
      }
      sessions_.erase(self);
    }
  } catch (const std::exception& e) {
    core::log(LogLevel::Error, "listener {}: connection from {} failed: {}", listener.config->name,
              ctx.peer_text, e.what());
  }
  runtime_->metrics->connection_closed(listener.gauges);
  open_.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::log_failed_handshake(const proxy::ConnectionContext& ctx, const Acceptor& acceptor,
                                  bool certificate_refused, const error_code& ec) {
  // Only require_handshake refuses certificates in the handshake; other failures (protocol,
  // scanners, timeouts) are routine and stay at debug level.
  const bool refused_certificate =
      acceptor.client_auth && ctx.client_cert && !ctx.client_cert->ok() &&
      acceptor.client_auth->mode == config::ClientAuthMode::RequireHandshake && certificate_refused;
  const bool no_certificate =
      acceptor.client_auth &&
      acceptor.client_auth->mode == config::ClientAuthMode::RequireHandshake &&
      ctx.client_cert == acceptor.client_auth->missing &&
      ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
          SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
  if (!refused_certificate && !no_certificate) {
    core::log(LogLevel::Debug, "listener {}: TLS handshake with {} failed: {}",
              acceptor.listener->config->name, ctx.peer_text, ec.message());
    return;
  }
  runtime_->metrics->count_client_verdict(ctx.client_cert->code, ctx.client_cert->ok());
  proxy::log_handshake_refusal(ctx, ec.message());
}

}  // namespace portcullis::net

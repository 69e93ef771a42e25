// A worker: one thread, one io_context, its own SO_REUSEPORT acceptor per listener and its own
// upstream pool. Nothing on the request path is shared with other workers except atomics.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <vector>

#include "core/result.h"
#include "net/client_auth.h"
#include "net/fast_lane.h"
#include "net/upstream_pool.h"
#include "proxy/pipeline.h"
#include "proxy/runtime.h"

namespace portcullis::net {

/// The TLS contexts of one runtime, shared read-only by all workers.
struct TlsContexts {
  std::vector<std::unique_ptr<boost::asio::ssl::context>> listeners;  ///< nullptr = plain
  std::vector<std::unique_ptr<ClientAuth>> client_auth;  ///< per listener; nullptr = none
  std::vector<std::unique_ptr<boost::asio::ssl::context>> upstreams;  ///< nullptr = plain
};

class Worker {
 public:
  Worker(int id, std::shared_ptr<const proxy::Runtime> runtime, const TlsContexts& tls,
         proxy::BlockingRunner& blocking);
  ~Worker();

  /// Binds this worker's acceptors (SO_REUSEPORT). `ports[i]` is the port of listener i: 0 the
  /// first time (the configured port is used, and port 0 is replaced by the one the kernel
  /// picked), so that every worker shares the same port. Errors name the listener.
  core::Result<void> open_acceptors(std::vector<std::uint16_t>& ports);
  /// Thread body: accept and serve until stop().
  void run();
  /// Thread-safe: stop accepting, close idle connections, let in-flight requests finish and then
  /// close their connections.
  void begin_drain();
  /// Thread-safe: stop the io_context now (after the drain deadline).
  void stop();
  /// Connections still open (thread-safe read).
  std::size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  struct Acceptor;
  boost::asio::awaitable<void> accept_loop(Acceptor& acceptor);
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket,
                                       boost::asio::ip::tcp::endpoint remote, Acceptor& acceptor);
  /// The handshake failed: log it, with the client-certificate evidence when there is some.
  void log_failed_handshake(const proxy::ConnectionContext& ctx, const Acceptor& acceptor,
                            bool certificate_refused, const boost::system::error_code& ec);

  int id_;
  // One thread runs it and only that thread touches its sockets (other threads post): no
  // per-descriptor locking in the reactor.
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::shared_ptr<const proxy::Runtime> runtime_;
  const TlsContexts& tls_;
  proxy::BlockingRunner& blocking_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unique_ptr<UpstreamPool> pool_;
  std::unique_ptr<FastLaneLoop> lane_;  ///< null when PORTCULLIS_FAST_LANE=off
  struct LiveSession {
    proxy::ConnectionContext* context;
    proxy::Transport* transport;
  };
  std::list<LiveSession> sessions_;  ///< only touched on this worker's thread
  bool draining_ = false;
  std::atomic<std::size_t> open_{0};
};

}  // namespace portcullis::net

// Server assembly, worker threads, signal handling and the drain sequence.
#include "net/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <thread>

#include "core/log.h"
#include "metrics/registry.h"
#include "net/admin_server.h"
#include "net/assertion_endpoints.h"
#include "net/blocking_pool.h"
#include "net/callout_client.h"
#include "net/jwks_fetcher.h"
#include "net/tls_context.h"
#include "net/worker.h"
#include "proxy/runtime.h"

namespace portcullis::net {
namespace {

using boost::system::error_code;
using core::LogLevel;

core::Result<TlsContexts> make_tls_contexts(const proxy::Runtime& rt) {
  TlsContexts tls;
  for (const auto& lc : rt.config.listeners) {
    if (!lc.tls) {
      tls.listeners.push_back(nullptr);
      tls.client_auth.push_back(nullptr);
      continue;
    }
    auto ctx = make_server_context(*lc.tls);
    if (!ctx) return std::unexpected(ctx.error());
    std::unique_ptr<ClientAuth> auth;
    if (lc.tls->client_auth && lc.tls->client_auth->mode != config::ClientAuthMode::Off) {
      // SECURITY: a bad trust bundle refuses to start: never serve a listener without the
      // client authentication its config asks for.
      auto made = make_client_auth(*lc.tls->client_auth);
      if (!made) return std::unexpected(made.error());
      auth = std::move(*made);
      install_client_auth((*ctx)->native_handle(), *auth);
    }
    tls.listeners.push_back(std::move(*ctx));
    tls.client_auth.push_back(std::move(auth));
  }
  for (const auto* up : rt.upstreams) {
    if (!up->tls) {
      tls.upstreams.push_back(nullptr);
      continue;
    }
    auto ctx = make_upstream_context(*up->tls);
    if (!ctx) return std::unexpected(ctx.error());
    tls.upstreams.push_back(std::move(*ctx));
  }
  return tls;
}

}  // namespace

struct Server::Impl {
  metrics::Registry metrics;
  /// Two hashing threads: enough for bcrypt at human login rates, never all the cores.
  BlockingPool blocking{2};
  std::shared_ptr<const proxy::Runtime> runtime;
  TlsContexts tls;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<AdminServer> admin;
  std::vector<std::uint16_t> ports;  ///< bound port of each listener (resolves port 0)
  std::atomic<bool> serving{false};
  boost::asio::io_context control{1};
};

Server::Server() : impl_(std::make_unique<Impl>()) {}

Server::~Server() = default;

core::Result<void> validate_for_serving(const config::Config& config) {
  metrics::Registry metrics;
  auto copy = config;
  copy.log.access = config::AccessLogTarget::Off;  // do not create the log file when checking
  // Checks the urls, CAs and client certificates; fetches and calls nothing.
  const proxy::OutboundFactories outbound{jwks_checking_factory(), callout_factory()};
  auto rt = proxy::build_runtime(std::move(copy), metrics, &outbound);
  if (!rt) return std::unexpected(rt.error());
  auto tls = make_tls_contexts(**rt);
  if (!tls) return std::unexpected(tls.error());
  return {};
}

core::Result<std::unique_ptr<Server>> Server::create(config::Config config) {
  std::unique_ptr<Server> server(new Server());
  auto& impl = *server->impl_;
  core::set_log_level(config.log.level);
  int workers = config.workers > 0
                    ? config.workers
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const proxy::OutboundFactories outbound{jwks_fetcher_factory(), callout_factory()};
  auto rt = proxy::build_runtime(std::move(config), impl.metrics, &outbound);
  if (!rt) return std::unexpected(rt.error());
  impl.runtime = std::move(*rt);
  auto tls = make_tls_contexts(*impl.runtime);
  if (!tls) return std::unexpected(tls.error());
  impl.tls = std::move(*tls);
  for (int i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>(i, impl.runtime, impl.tls, impl.blocking);
    if (auto ok = w->open_acceptors(impl.ports); !ok) return std::unexpected(ok.error());
    impl.workers.push_back(std::move(w));
  }
  if (const auto& listen = impl.runtime->config.admin.listen) {
    impl.admin = std::make_unique<AdminServer>(*listen, impl.metrics, impl.serving);
    if (impl.runtime->assertion_signer) {
      impl.admin->add_handler(assertion_admin_handler(impl.runtime->assertion_signer));
    }
    if (auto ok = impl.admin->open(); !ok) return std::unexpected(ok.error());
  }
  return server;
}

int Server::run() {
  auto& impl = *impl_;
  std::vector<std::thread> threads;
  for (auto& w : impl.workers) threads.emplace_back([&w] { w->run(); });
  impl.serving = true;
  if (impl.admin) impl.admin->start();
  for (std::size_t i = 0; i < impl.runtime->config.listeners.size(); ++i) {
    const auto& lc = impl.runtime->config.listeners[i];
    config::Endpoint bound = lc.listen;
    bound.port = impl.ports[i];
    core::log(LogLevel::Info, "listening on {}://{} (listener \"{}\", {} workers)",
              lc.tls ? "https" : "http", bound.to_string(), lc.name, impl.workers.size());
  }

  boost::asio::signal_set signals(impl.control, SIGINT, SIGTERM);
  signals.async_wait([&](const error_code& ec, int sig) {
    if (!ec) core::log(LogLevel::Info, "signal {}: draining", sig);
    impl.control.stop();
  });
  impl.control.run();

  // Drain: stop accepting, close idle connections, let in-flight requests finish.
  impl.serving = false;
  for (auto& w : impl.workers) w->begin_drain();
  const auto deadline = std::chrono::steady_clock::now() + impl.runtime->config.shutdown_timeout;
  for (;;) {
    std::size_t open = 0;
    for (auto& w : impl.workers) open += w->open_connections();
    if (open == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      core::log(LogLevel::Warn, "shutdown_timeout reached with {} connections open; closing them",
                open);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Hashing jobs refer to their requests' coroutines: finish them before the workers go.
  impl.blocking.stop();
  for (auto& w : impl.workers) w->stop();
  for (auto& t : threads) t.join();
  if (impl.admin) impl.admin->stop();
  core::log(LogLevel::Info, "stopped");
  return 0;
}

void Server::request_stop() {
  boost::asio::post(impl_->control, [this] { impl_->control.stop(); });
}

}  // namespace portcullis::net

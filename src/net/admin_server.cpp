// Admin endpoints with Beast's message API (not on the data path, so simplicity wins).
#include "net/admin_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>
#include <thread>
#include <vector>

#include "core/log.h"

namespace portcullis::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;

}  // namespace

struct AdminServer::Impl {
  Impl(const config::Endpoint& l, const metrics::Registry& m, const std::atomic<bool>& s)
      : listen(l), metrics(m), serving(s) {}

  const config::Endpoint& listen;
  const metrics::Registry& metrics;
  const std::atomic<bool>& serving;
  asio::io_context io{1};
  asio::ip::tcp::acceptor acceptor{io};
  std::thread thread;
  std::vector<AdminHandler> handlers;

  /// The first handler's answer, if any handler owns the request.
  std::optional<http::response<http::string_body>> from_handlers(
      const http::request<http::string_body>& req) {
    const auto field = [&](http::field f) {
      const auto v = req[f];
      return std::string_view(v.data(), v.size());
    };
    const AdminRequest request{
        std::string_view(req.method_string().data(), req.method_string().size()),
        std::string_view(req.target().data(), req.target().size()),
        field(http::field::content_type), req.body()};
    for (const auto& handler : handlers) {
      auto reply = handler(request);
      if (!reply) continue;
      http::response<http::string_body> res{static_cast<http::status>(reply->status), 11};
      res.keep_alive(req.keep_alive());
      res.set(http::field::content_type, reply->content_type);
      for (const auto& [name, value] : reply->headers) res.set(name, value);
      res.body() = std::move(reply->body);
      res.prepare_payload();
      if (req.method() == http::verb::head) res.body().clear();
      return res;
    }
    return std::nullopt;
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    if (auto handled = from_handlers(req)) return std::move(*handled);
    http::response<http::string_body> res;
    res.version(11);
    res.keep_alive(req.keep_alive());
    const auto target = std::string_view(req.target().data(), req.target().size());
    const auto path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "method not allowed\n";
    } else if (path == "/healthz") {
      const bool ok = serving.load();
      res.result(ok ? http::status::ok : http::status::service_unavailable);
      res.body() = ok ? "ok\n" : "draining\n";
    } else if (path == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = metrics.prometheus_text();
    } else if (path.starts_with("/denials/")) {
      // The recent denial with this request id (X-Request-Id), for `portcullis explain
      // --request-id`; the admin listener is operator-only, so the detail is included.
      const auto denial = metrics.recent_denials().find(path.substr(9));
      res.result(denial ? http::status::ok : http::status::not_found);
      res.set(http::field::content_type, "application/json");
      res.body() = denial ? metrics::denial_record_json(*denial)
                          : "{\"error\":\"no recent denial with this request id\"}\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: try /healthz, /metrics or /denials/<request-id>\n";
    }
    if (!res.has_content_length() && res[http::field::content_type].empty()) {
      res.set(http::field::content_type, "text/plain; charset=utf-8");
    }
    res.prepare_payload();
    return res;
  }

  asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buf;
    for (;;) {
      error_code ec;
      http::request<http::string_body> req;
      stream.expires_after(std::chrono::seconds(10));
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      co_await http::async_read(stream, buf, parser, redirect_error(use_awaitable, ec));
      if (ec) break;
      req = parser.release();
      auto res = answer(req);
      co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      auto socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

AdminServer::AdminServer(const config::Endpoint& listen, const metrics::Registry& metrics,
                         const std::atomic<bool>& serving)
    : impl_(std::make_unique<Impl>(listen, metrics, serving)) {}

void AdminServer::add_handler(AdminHandler handler) {
  impl_->handlers.push_back(std::move(handler));
}

AdminServer::~AdminServer() {
  stop();
}

core::Result<void> AdminServer::open() {
  error_code ec;
  const auto address = asio::ip::make_address(impl_->listen.host, ec);
  if (ec) {
    return core::fail("admin.listen must be an IP address, got \"" + impl_->listen.host + "\"",
                      impl_->listen.origin.path, impl_->listen.origin.line);
  }
  const asio::ip::tcp::endpoint endpoint(address, impl_->listen.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail("cannot listen on " + impl_->listen.to_string() + ": " + ec.message(),
                      impl_->listen.origin.path, impl_->listen.origin.line);
  }
  return {};
}

void AdminServer::start() {
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void AdminServer::stop() {
  if (!impl_) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace portcullis::net

// The echo upstream, built on the same parser and transports as the gateway.
#include "net/echo_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <charconv>
#include <map>
#include <thread>

#include "config/config.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "net/tls_context.h"
#include "net/transports.h"
#include "proxy/exchange_io.h"
#include "proxy/message_parser.h"

namespace portcullis::net {
namespace {

using asio::redirect_error;
using asio::use_awaitable;
namespace http = beast::http;

constexpr std::size_t kChunk = 64 * 1024;

core::Result<asio::ip::tcp::endpoint> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return core::fail("expected IP:PORT, got \"" + text + "\"");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto ps = std::string_view(text).substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc{} || p != ps.data() + ps.size() || port > 65535) {
    return core::fail("bad port in \"" + text + "\"");
  }
  error_code aec;
  const auto address = asio::ip::make_address(host, aec);
  if (aec) return core::fail("not an IP address: \"" + host + "\"");
  return asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
}

std::uint64_t query_number(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key && eq != std::string_view::npos) {
      std::uint64_t v = 0;
      const auto val = pair.substr(eq + 1);
      std::from_chars(val.data(), val.data() + val.size(), v);
      return v;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return 0;
}

std::string describe(const proxy::RequestHead& head, std::uint64_t body_length) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : head.headers.fields()) {
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& slot = headers[lower];
    slot = slot.empty() ? value : slot + ", " + value;
  }
  std::string hdrs;
  core::JsonObjectWriter hw(hdrs);
  for (const auto& [n, v] : headers) hw.str(n, v);
  hw.finish();
  std::string out;
  core::JsonObjectWriter w(out);
  w.str("method", head.method)
      .str("path", head.path())
      .str("query", head.query())
      .raw("headers", hdrs)
      .num("body_length", static_cast<std::int64_t>(body_length));
  w.finish();
  out += '\n';
  return out;
}

/// Serves one connection; returns when the client closes or on any error.
asio::awaitable<void> serve(proxy::Transport& t) {
  beast::flat_buffer buf;
  for (;;) {
    proxy::RequestParser parser;
    parser.header_limit(64 * 1024);
    error_code ec;
    t.expires_after(std::chrono::seconds(60));
    bool starved = buf.size() == 0;
    while (!parser.is_done()) {
      if (starved) {
        const auto n = co_await t.read_some(buf.prepare(kChunk), ec);
        buf.commit(n);
        if (ec) co_return;
      }
      const auto used = parser.put(buf.data(), ec);
      buf.consume(used);
      starved = ec == http::error::need_more || used == 0 || buf.size() == 0;
      parser.body_out().clear();  // count only
      if (ec == http::error::need_more) continue;
      if (ec) co_return;
    }
    const auto& head = parser.head();
    const auto query = head.query();
    if (const auto delay = query_number(query, "echo_delay_ms")) {
      asio::steady_timer timer(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(delay));
      co_await timer.async_wait(redirect_error(use_awaitable, ec));
    }
    proxy::ResponseHead res;
    res.status = static_cast<int>(query_number(query, "echo_status"));
    if (res.status < 200 || res.status > 599) res.status = 200;
    res.keep_alive = head.keep_alive;
    if (!head.keep_alive) res.headers.add("Connection", "close");
    const bool chunked = query_number(query, "echo_chunked") == 1;
    const std::uint64_t bytes = query_number(query, "echo_bytes");
    const bool body_allowed = head.method != "HEAD" && res.status != 204 && res.status != 304;
    std::string body;
    if (bytes == 0) {
      body = describe(head, parser.body_bytes());
      res.headers.add("Content-Type", "application/json");
    } else {
      res.headers.add("Content-Type", "application/octet-stream");
    }
    const std::uint64_t total = bytes > 0 ? bytes : body.size();
    res.framing = chunked ? proxy::BodyFraming::Chunked : proxy::BodyFraming::ContentLength;
    res.content_length = total;
    const std::string head_text = proxy::serialize_response_head(res);
    if (!body_allowed) {
      co_await t.write(std::array{asio::buffer(head_text)}, ec);
    } else if (bytes == 0) {
      proxy::BodyFrame frame(res.framing, body, true);
      co_await t.write(frame.with_head(head_text), ec);
    } else {
      const std::string block(kChunk, 'x');
      std::string piece;
      std::uint64_t left = bytes;
      bool first = true;
      while (!ec) {
        const auto n = std::min<std::uint64_t>(left, kChunk);
        piece.assign(block.data(), n);
        left -= n;
        proxy::BodyFrame frame(res.framing, piece, left == 0);
        co_await t.write(first ? frame.with_head(head_text) : frame.buffers(), ec);
        first = false;
        if (left == 0) break;
      }
    }
    if (ec || !head.keep_alive) break;
  }
  co_await t.shutdown();
}

struct EchoServer {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};
  std::unique_ptr<asio::ssl::context> tls;

  asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    try {
      if (tls) {
        TlsTransport t(std::move(socket), *tls);
        if (co_await t.handshake_server(std::chrono::seconds(10))) co_return;
        co_await serve(t);
      } else {
        TcpTransport t(std::move(socket));
        co_await serve(t);
      }
    } catch (const std::exception& e) {
      core::log(core::LogLevel::Error, "echo: connection failed: {}", e.what());
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      // One strand per connection: several threads may run the io_context.
      auto socket =
          co_await acceptor.async_accept(asio::make_strand(io), redirect_error(use_awaitable, ec));
      if (!acceptor.is_open()) co_return;
      if (ec) continue;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }

  core::Result<void> open(const EchoOptions& options) {
    auto endpoint = parse_listen(options.listen);
    if (!endpoint) return std::unexpected(endpoint.error());
    if (!options.tls_cert.empty() || !options.tls_key.empty()) {
      config::ServerTlsConfig cfg;
      cfg.cert.path = options.tls_cert;
      cfg.cert.origin.path = "--tls-cert";
      cfg.key.path = options.tls_key;
      cfg.key.origin.path = "--tls-key";
      auto ctx = make_server_context(cfg);
      if (!ctx) return std::unexpected(ctx.error());
      tls = std::move(*ctx);
    }
    error_code ec;
    acceptor.open(endpoint->protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(*endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return core::fail("cannot listen on " + options.listen + ": " + ec.message());
    asio::co_spawn(io, accept_loop(), asio::detached);
    return {};
  }
};

}  // namespace

core::Result<int> run_echo_server(const EchoOptions& options) {
  EchoServer server;
  if (auto ok = server.open(options); !ok) return std::unexpected(ok.error());
  asio::signal_set signals(server.io, SIGINT, SIGTERM);
  signals.async_wait([&](const error_code&, int) { server.io.stop(); });
  core::log(core::LogLevel::Info, "echo listening on {}://{}", server.tls ? "https" : "http",
            options.listen);
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&] { server.io.run(); });
  server.io.run();
  for (auto& t : threads) t.join();
  return 0;
}

core::Result<void> start_echo_server_thread(const EchoOptions& options) {
  auto* server = new EchoServer();  // lives for the process (demo mode)
  if (auto ok = server->open(options); !ok) {
    delete server;
    return std::unexpected(ok.error());
  }
  std::thread([server] { server->io.run(); }).detach();
  return {};
}

}  // namespace portcullis::net

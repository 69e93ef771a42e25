// The gateway's own HTTP client: one request per connection, every failure classified.
#include "net/outbound_http.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <memory>

#include "net/dial_errors.h"
#include "net/proxy_tunnel.h"
#include "net/transports.h"

namespace portcullis::net {
namespace {

namespace http = beast::http;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

OutboundResult failed(OutboundFailure failure, std::string detail) {
  OutboundResult r;
  r.failure = failure;
  r.detail = std::move(detail);
  return r;
}

std::string ms_text(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

/// What is left of the deadline (at least 1 ms, so an exhausted deadline still fails as a
/// timeout of the next step rather than as "no time given").
std::chrono::milliseconds remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds{1});
}

/// The request bytes. Through a proxy, an http URL goes in absolute form with the proxy's
/// credentials (RFC 9112 3.2.2); an https URL goes through a CONNECT tunnel in origin form.
std::string serialize(const OutboundRequest& request) {
  const bool absolute = request.proxy && !request.url.https();
  std::string out =
      request.method + " " + (absolute ? request.url.text() : request.url.target) + " HTTP/1.1\r\n";
  if (absolute) {
    if (const auto auth = proxy_authorization(*request.proxy); !auth.empty()) {
      out += "Proxy-Authorization: " + auth + "\r\n";
    }
  }
  const bool default_port = request.url.port == (request.url.https() ? 443 : 80);
  std::string host = request.url.authority();
  if (default_port) host = host.substr(0, host.rfind(':'));
  out += "Host: " + host + "\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  out += request.body;
  return out;
}

/// TLS record types a TLS server sends first (handshake) or after a plain-text request (alert).
bool looks_like_tls(std::string_view bytes) {
  return bytes.size() >= 2 && (bytes[0] == 0x15 || bytes[0] == 0x16) && bytes[1] == 0x03;
}

awaitable<OutboundResult> exchange(proxy::Transport& transport, const OutboundRequest& request,
                                   Clock::time_point deadline) {
  const std::string wire = serialize(request);
  error_code ec;
  transport.expires_after(remaining(deadline));
  const std::array<asio::const_buffer, 1> out{asio::buffer(wire)};
  co_await transport.write(out, ec);
  if (ec == beast::error::timeout) {
    co_return failed(OutboundFailure::Timeout,
                     "no answer within " + ms_text(request.timeout) + " (sending the request)");
  }
  if (ec) co_return failed(OutboundFailure::Connect, "sending the request failed: " + ec.message());

  http::response_parser<http::string_body> parser;
  parser.body_limit(request.max_body);
  parser.eager(true);
  std::string pending;
  std::array<char, 16 * 1024> buf{};
  bool first = true;
  while (!parser.is_done()) {
    const std::size_t n = co_await transport.read_some(asio::buffer(buf), ec);
    if (first && !request.url.https() && looks_like_tls(std::string_view(buf.data(), n))) {
      co_return failed(OutboundFailure::ProtocolMismatch,
                       "the server answered in TLS: it expects https; use an https:// URL");
    }
    first = first && n == 0;
    if (ec == beast::error::timeout) {
      co_return failed(OutboundFailure::Timeout,
                       "no answer within " + ms_text(request.timeout) + " (waiting for the " +
                           (parser.is_header_done() ? "body)" : "response)"));
    }
    if (ec == asio::error::eof) {
      error_code pec;
      if (parser.got_some()) parser.put_eof(pec);  // put_eof requires some input
      if (pec || !parser.is_done()) {
        co_return failed(
            OutboundFailure::BadResponse,
            parser.got_some() || !pending.empty()
                ? "the connection closed before the answer was complete"
                : std::string("the connection closed without an answer") +
                      (request.url.https() ? ""
                                           : " (a TLS port answers a plain request like this: "
                                             "is the URL's scheme right?)"));
      }
      break;
    }
    if (ec == asio::error::connection_reset && first && pending.empty() && !request.url.https()) {
      // A TLS server reads our plain request as a broken record and drops the connection.
      co_return failed(OutboundFailure::BadResponse,
                       "the connection was reset without an answer (a TLS port answers a plain "
                       "request like this: is the URL's scheme right?)");
    }
    if (ec) {
      co_return failed(OutboundFailure::Connect, "reading the answer failed: " + ec.message());
    }
    pending.append(buf.data(), n);
    while (!pending.empty() && !parser.is_done()) {
      error_code pec;
      const std::size_t used = parser.put(asio::buffer(pending), pec);
      pending.erase(0, used);
      // The limit is checked here too: Beast 1.74 does not apply body_limit to every framing.
      const auto declared = parser.is_header_done() ? parser.content_length() : boost::none;
      if (pec == http::error::body_limit || (declared && *declared > request.max_body) ||
          parser.get().body().size() > request.max_body) {
        co_return failed(
            OutboundFailure::TooLarge,
            "the answer's body exceeds " + std::to_string(request.max_body) + " bytes");
      }
      if (pec == http::error::need_more) {
        if (used == 0) break;
        continue;
      }
      if (pec) {
        co_return failed(OutboundFailure::BadResponse, "not an HTTP answer: " + pec.message());
      }
    }
  }
  OutboundResult result;
  auto& message = parser.get();
  result.response.status = static_cast<int>(message.result_int());
  result.response.reason = std::string(message.reason());
  for (const auto& field : message) {
    result.response.headers.emplace_back(std::string(field.name_string()),
                                         std::string(field.value()));
  }
  result.response.body = std::move(message.body());
  co_return result;
}

}  // namespace

awaitable<OutboundResult> send_outbound(const OutboundRequest& request) {
  const auto deadline = Clock::now() + request.timeout;
  const auto ex = co_await asio::this_coro::executor;
  const auto& url = request.url;
  if (url.https() && request.tls == nullptr) {
    // SECURITY: an https target without its trust settings is never contacted in clear text.
    co_return failed(OutboundFailure::Tls, "no TLS client context for an https URL");
  }
  const core::ProxyUrl* proxy = request.proxy ? &*request.proxy : nullptr;
  const std::string host = proxy ? proxy->host : url.host;
  const std::uint16_t port = proxy ? proxy->port : url.port;
  const std::string peer = proxy ? "proxy " + proxy->display() : url.authority();

  // Resolution, bounded by the deadline: the resolver runs getaddrinfo on a helper thread and
  // cancel() abandons the wait.
  error_code ec;
  asio::ip::tcp::resolver resolver(ex);
  asio::steady_timer guard(ex);
  guard.expires_at(deadline);
  struct ResolveState {
    bool done = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<ResolveState>();
  // The handler may already be queued when the resolution completes: `done` keeps it from
  // touching the resolver after this frame moved on.
  guard.async_wait([&resolver, state](const error_code& wait_ec) {
    if (wait_ec || state->done) return;
    state->timed_out = true;
    resolver.cancel();
  });
  const auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                         redirect_error(use_awaitable, ec));
  state->done = true;
  guard.cancel();
  const std::string what =
      proxy ? "the proxy host \"" + host + "\" (" + peer + ")" : "\"" + host + "\"";
  if (state->timed_out) {
    co_return failed(OutboundFailure::Timeout,
                     "resolving " + what + " took longer than " + ms_text(request.timeout));
  }
  if (ec) {
    co_return failed(is_dns_error(ec) ? OutboundFailure::Dns : OutboundFailure::Connect,
                     "cannot resolve " + what + ": " + ec.message());
  }

  TcpTransport tcp(ex);
  tcp.expires_after(remaining(deadline));
  ec = co_await tcp.connect(endpoints);
  if (ec == beast::error::timeout) {
    co_return failed(OutboundFailure::Timeout,
                     "connecting to " + peer + " took longer than " + ms_text(request.timeout));
  }
  if (ec)
    co_return failed(OutboundFailure::Connect, "connect to " + peer + " failed: " + ec.message());
  error_code ignored;
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ignored);

  if (!url.https()) {
    auto result = co_await exchange(tcp, request, deadline);
    tcp.close();
    if (proxy && result.ok() && result.response.status == 407) {
      co_return failed(OutboundFailure::ProxyAuthRequired,
                       proxy_auth_detail(*proxy, result.response.header("Proxy-Authenticate")));
    }
    co_return result;
  }
  if (proxy) {
    tcp.expires_after(remaining(deadline));
    auto tunnel = co_await open_tunnel(tcp, *proxy, url.authority());
    if (!tunnel.ok()) {
      tcp.close();
      co_return tunnel;
    }
  }
  TlsTransport transport(std::move(tcp.socket()), *request.tls);
  ec = co_await transport.handshake_client(url.host, url.host, remaining(deadline));
  if (ec == beast::error::timeout) {
    co_return failed(OutboundFailure::Timeout,
                     "the TLS handshake with " + url.authority() + " took longer than " +
                         ms_text(request.timeout) +
                         " (a plain HTTP server waits like this: is the URL's scheme right?)");
  }
  if (ec) {
    TlsFailure tls = classify_tls_failure(transport.native(), ec);
    OutboundResult r;
    r.failure = tls.kind == TlsFailureKind::Untrusted          ? OutboundFailure::TlsUntrusted
                : tls.kind == TlsFailureKind::ProtocolMismatch ? OutboundFailure::ProtocolMismatch
                                                               : OutboundFailure::Tls;
    r.detail =
        "TLS with " + url.authority() + (proxy ? " (through " + peer + ")" : "") + ": " + tls.text;
    r.chain = std::move(tls.chain);
    transport.close();
    co_return r;
  }
  auto result = co_await exchange(transport, request, deadline);
  if ((result.failure == OutboundFailure::Connect ||
       result.failure == OutboundFailure::BadResponse) &&
      SSL_version(transport.native()) == TLS1_3_VERSION) {
    // Under TLS 1.3 the client finishes its handshake before the server has checked the client
    // certificate; a refusal then shows up as a reset or close on the first request.
    result.detail += SSL_get_certificate(transport.native()) != nullptr
                         ? " (right after the TLS 1.3 handshake: the server may have refused the "
                           "client certificate the gateway presented; check it against the CAs "
                           "the server trusts)"
                         : " (right after the TLS 1.3 handshake: a server that requires a client "
                           "certificate refuses a connection without one like this; configure "
                           "cert and key)";
  }
  transport.close();
  co_return result;
}

}  // namespace portcullis::net

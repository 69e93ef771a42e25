// HTTP CONNECT through an outbound proxy.
#include "net/proxy_tunnel.h"
#include "core/ascii.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/evp.h>

#include <array>
#include <charconv>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxProxyHead = 16 * 1024;

core::OutboundResult failed(core::OutboundFailure failure, std::string detail) {
  core::OutboundResult r;
  r.failure = failure;
  r.detail = std::move(detail);
  return r;
}

/// The value of header `name` in a raw head (case-insensitive), or "".
std::string head_field(std::string_view head, std::string_view name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && core::ascii_iequals(line.substr(0, colon), name)) {
      return std::string(core::trim_ascii_space(line.substr(colon + 1)));
    }
    pos = end;
  }
  return {};
}

}  // namespace

std::string proxy_authorization(const core::ProxyUrl& proxy) {
  if (proxy.user.empty()) return {};
  const std::string plain = proxy.user + ":" + proxy.password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

std::string proxy_auth_detail(const core::ProxyUrl& proxy, const std::string& proxy_authenticate,
                              std::string_view status) {
  std::string detail = "proxy " + proxy.display() + " answered " + std::string(status);
  if (!proxy_authenticate.empty()) detail += " (it asks for: " + proxy_authenticate + ")";
  detail += proxy.user.empty()
                ? "; no credentials are configured for it: add user:password to the proxy URL, "
                  "or bypass the proxy for this target (proxy: none, or NO_PROXY)"
                : "; the configured credentials of user \"" + proxy.user + "\" were refused";
  return detail;
}

asio::awaitable<core::OutboundResult> open_tunnel(proxy::Transport& transport,
                                                  const core::ProxyUrl& proxy,
                                                  const std::string& authority) {
  std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (const auto auth = proxy_authorization(proxy); !auth.empty()) {
    request += "Proxy-Authorization: " + auth + "\r\n";
  }
  request += "\r\n";
  boost::system::error_code ec;
  const std::array<asio::const_buffer, 1> out{asio::buffer(request)};
  co_await transport.write(out, ec);
  if (ec == boost::beast::error::timeout) {
    co_return failed(core::OutboundFailure::Timeout,
                     "proxy " + proxy.display() + " did not take the CONNECT in time");
  }
  if (ec) {
    co_return failed(core::OutboundFailure::Connect,
                     "sending CONNECT to proxy " + proxy.display() + " failed: " + ec.message());
  }
  // Read the proxy's answer head only: after a 200 the next bytes belong to the tunnel, and
  // the target speaks only after our ClientHello.
  std::string head;
  std::array<char, 1024> buf{};
  while (head.find("\r\n\r\n") == std::string::npos) {
    const std::size_t n = co_await transport.read_some(asio::buffer(buf), ec);
    if (ec == boost::beast::error::timeout) {
      co_return failed(
          core::OutboundFailure::Timeout,
          "proxy " + proxy.display() + " did not answer the CONNECT to " + authority + " in time");
    }
    if (ec) {
      co_return failed(core::OutboundFailure::ProxyRefused,
                       "proxy " + proxy.display() + " closed the connection on CONNECT " +
                           authority + (head.empty() ? "" : " after a partial answer"));
    }
    head.append(buf.data(), n);
    if (head.size() > kMaxProxyHead) {
      co_return failed(core::OutboundFailure::ProxyRefused,
                       "proxy " + proxy.display() + " sent an oversized answer to CONNECT");
    }
  }
  const std::string status_line = head.substr(0, head.find("\r\n"));
  int status = 0;
  if (status_line.starts_with("HTTP/1.") && status_line.size() >= 12) {
    std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  }
  if (status >= 200 && status < 300) co_return core::OutboundResult{};
  if (status == 407) {
    co_return failed(core::OutboundFailure::ProxyAuthRequired,
                     proxy_auth_detail(proxy, head_field(head, "Proxy-Authenticate")));
  }
  if (status == 401) {
    // Some proxies (tinyproxy 1.11) answer a CONNECT without credentials with 401 and a
    // WWW-Authenticate challenge instead of 407: the same meaning.
    auto asks = head_field(head, "Proxy-Authenticate");
    if (asks.empty()) asks = head_field(head, "WWW-Authenticate");
    co_return failed(core::OutboundFailure::ProxyAuthRequired,
                     proxy_auth_detail(proxy, asks,
                                       "401 to the CONNECT (meaning 407: proxy "
                                       "authentication required)"));
  }
  co_return failed(
      core::OutboundFailure::ProxyRefused,
      "proxy " + proxy.display() + " refused CONNECT " + authority + ": \"" + status_line + "\"" +
          (status == 403   ? " (its rules forbid this target or port)"
           : status >= 500 ? " (the proxy could not reach the target: check the target from "
                             "the proxy's side)"
                           : ""));
}

}  // namespace portcullis::net

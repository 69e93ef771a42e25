// proxy::Transport over a plain TCP socket and over TLS (OpenSSL via Beast's ssl_stream), with
// Beast's tcp_stream deadlines. Server and client TLS handshakes live here too.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <string>

#include "proxy/transport.h"

namespace portcullis::net {

using boost::asio::awaitable;
using boost::system::error_code;
namespace asio = boost::asio;
namespace beast = boost::beast;

class TcpTransport final : public proxy::Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}
  explicit TcpTransport(asio::any_io_executor ex) : stream_(ex) {}

  beast::tcp_stream& stream() { return stream_; }

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override;
  awaitable<void> write(std::span<const asio::const_buffer> bufs, error_code& ec) override;
  void expires_after(std::chrono::milliseconds timeout) override { stream_.expires_after(timeout); }
  void expires_never() override { stream_.expires_never(); }
  awaitable<void> shutdown() override;
  void close() override;
  bool is_open() const override { return stream_.socket().is_open(); }

 private:
  beast::tcp_stream stream_;
};

class TlsTransport final : public proxy::Transport {
 public:
  TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& ctx)
      : stream_(std::move(socket), ctx) {}
  TlsTransport(asio::any_io_executor ex, asio::ssl::context& ctx) : stream_(ex, ctx) {}

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  SSL* native() { return stream_.native_handle(); }

  /// Server-side handshake bounded by `timeout`.
  awaitable<error_code> handshake_server(std::chrono::milliseconds timeout);
  /// Client-side handshake: SNI (unless empty or an IP literal) and peer name verification
  /// against `verify_name` (a DNS name or an IP literal).
  awaitable<error_code> handshake_client(const std::string& sni, const std::string& verify_name,
                                         std::chrono::milliseconds timeout);
  /// "TLSv1.3" and the cipher name, after the handshake.
  proxy::TlsFacts facts();

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override;
  awaitable<void> write(std::span<const asio::const_buffer> bufs, error_code& ec) override;
  void expires_after(std::chrono::milliseconds timeout) override {
    beast::get_lowest_layer(stream_).expires_after(timeout);
  }
  void expires_never() override { beast::get_lowest_layer(stream_).expires_never(); }
  awaitable<void> shutdown() override;
  void close() override;
  bool is_open() const override;

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
};

/// True when `host` is an IPv4 or IPv6 literal.
bool is_ip_literal(const std::string& host);

}  // namespace portcullis::net

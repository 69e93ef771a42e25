// TCP and TLS transports: thin coroutine wrappers that turn Asio completion into error values.
#include "net/transports.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/x509v3.h>

#include "core/ip_network.h"

namespace portcullis::net {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

constexpr std::chrono::milliseconds kShutdownTimeout{1000};

}  // namespace

bool is_ip_literal(const std::string& host) {
  return core::IpAddress::parse(host).has_value();
}

awaitable<std::size_t> TcpTransport::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  co_return co_await stream_.async_read_some(buf, redirect_error(use_awaitable, ec));
}

awaitable<void> TcpTransport::write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  co_await asio::async_write(stream_, bufs, redirect_error(use_awaitable, ec));
}

awaitable<void> TcpTransport::shutdown() {
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
  co_return;
}

void TcpTransport::close() {
  stream_.close();
}

awaitable<error_code> TlsTransport::handshake_server(std::chrono::milliseconds timeout) {
  error_code ec;
  expires_after(timeout);
  co_await stream_.async_handshake(asio::ssl::stream_base::server,
                                   redirect_error(use_awaitable, ec));
  co_return ec;
}

awaitable<error_code> TlsTransport::handshake_client(const std::string& sni,
                                                     const std::string& verify_name,
                                                     std::chrono::milliseconds timeout) {
  SSL* ssl = native();
  if (!sni.empty() && !is_ip_literal(sni)) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (!verify_name.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip_literal(verify_name)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), 0);
    }
  }
  error_code ec;
  expires_after(timeout);
  co_await stream_.async_handshake(asio::ssl::stream_base::client,
                                   redirect_error(use_awaitable, ec));
  co_return ec;
}

proxy::TlsFacts TlsTransport::facts() {
  SSL* ssl = native();
  return {SSL_get_version(ssl), SSL_get_cipher_name(ssl) ? SSL_get_cipher_name(ssl) : ""};
}

awaitable<std::size_t> TlsTransport::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  const auto n = co_await stream_.async_read_some(buf, redirect_error(use_awaitable, ec));
  // A peer that closes without close_notify is, for HTTP framing purposes, a plain close.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return n;
}

awaitable<void> TlsTransport::write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  co_await asio::async_write(stream_, bufs, redirect_error(use_awaitable, ec));
}

awaitable<void> TlsTransport::shutdown() {
  error_code ec;
  if (beast::get_lowest_layer(stream_).socket().is_open()) {
    expires_after(kShutdownTimeout);
    co_await stream_.async_shutdown(redirect_error(use_awaitable, ec));
  }
  close();
}

void TlsTransport::close() {
  beast::get_lowest_layer(stream_).close();
}

bool TlsTransport::is_open() const {
  return beast::get_lowest_layer(stream_).socket().is_open();
}

}  // namespace portcullis::net

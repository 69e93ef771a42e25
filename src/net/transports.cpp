// TCP and TLS transports: thin coroutine wrappers that turn Asio completion into error values,
// with Deadline-based timeouts.
#include "net/transports.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

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

// ---- Deadline ---------------------------------------------------------------------------------

Deadline::Deadline(const asio::any_io_executor& ex) : timer_(ex) {}

void Deadline::expires_after(std::chrono::milliseconds timeout) {
  at_ = std::chrono::steady_clock::now() + timeout;
  armed_ = true;
}

bool Deadline::arm(asio::ip::tcp::socket& socket) {
  fired_ = false;
  if (!armed_) return true;
  if (std::chrono::steady_clock::now() >= at_) {
    fired_ = true;
    return false;
  }
  timer_.expires_at(at_);
  // The handler may run after the operation completed (it was already queued): the weak pointer
  // says whether the transport still exists, the generation whether it is still our operation.
  const auto generation = ++generation_;
  timer_.async_wait(
      [this, &socket, generation, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
        if (ec || alive.expired() || generation != generation_) return;
        fired_ = true;
        error_code ignored;
        socket.cancel(ignored);
      });
  return true;
}

void Deadline::finish(error_code& ec) {
  ++generation_;
  timer_.cancel();
  if (fired_ && (ec == asio::error::operation_aborted || !ec)) {
    if (ec) ec = beast::error::timeout;
  }
}

// ---- TcpTransport -----------------------------------------------------------------------------

TcpTransport::TcpTransport(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), deadline_(socket_.get_executor()) {}

TcpTransport::TcpTransport(const asio::any_io_executor& ex) : socket_(ex), deadline_(ex) {}

awaitable<error_code> TcpTransport::connect(
    const asio::ip::tcp::resolver::results_type& endpoints) {
  error_code ec;
  if (!deadline_.arm(socket_)) co_return error_code(beast::error::timeout);
  co_await asio::async_connect(socket_, endpoints, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
  co_return ec;
}

awaitable<std::size_t> TcpTransport::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return 0;
  }
  const auto n = co_await socket_.async_read_some(buf, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
  co_return n;
}

awaitable<void> TcpTransport::write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await asio::async_write(socket_, bufs, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

awaitable<void> TcpTransport::shutdown() {
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  close();
  co_return;
}

void TcpTransport::close() {
  error_code ec;
  socket_.close(ec);
}

// ---- TlsTransport -----------------------------------------------------------------------------

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& ctx)
    : stream_(std::move(socket), ctx), deadline_(stream_.get_executor()) {}

TlsTransport::TlsTransport(const asio::any_io_executor& ex, asio::ssl::context& ctx)
    : stream_(ex, ctx), deadline_(ex) {}

awaitable<error_code> TlsTransport::connect(
    const asio::ip::tcp::resolver::results_type& endpoints) {
  error_code ec;
  if (!deadline_.arm(socket())) co_return error_code(beast::error::timeout);
  co_await asio::async_connect(socket(), endpoints, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
  co_return ec;
}

awaitable<error_code> TlsTransport::handshake_server(std::chrono::milliseconds timeout) {
  error_code ec;
  expires_after(timeout);
  if (!deadline_.arm(socket())) co_return error_code(beast::error::timeout);
  co_await stream_.async_handshake(asio::ssl::stream_base::server,
                                   redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
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
  if (!deadline_.arm(socket())) co_return error_code(beast::error::timeout);
  co_await stream_.async_handshake(asio::ssl::stream_base::client,
                                   redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
  co_return ec;
}

proxy::TlsFacts TlsTransport::facts() {
  SSL* ssl = native();
  const char* cipher = SSL_get_cipher_name(ssl);
  return {SSL_get_version(ssl), cipher ? cipher : ""};
}

awaitable<std::size_t> TlsTransport::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (!deadline_.arm(socket())) {
    ec = beast::error::timeout;
    co_return 0;
  }
  const auto n = co_await stream_.async_read_some(buf, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
  // A peer that closes without close_notify is, for HTTP framing purposes, a plain close.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return n;
}

awaitable<void> TlsTransport::write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  if (!deadline_.arm(socket())) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await asio::async_write(stream_, bufs, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

awaitable<void> TlsTransport::shutdown() {
  if (socket().is_open()) {
    error_code ec;
    expires_after(kShutdownTimeout);
    if (deadline_.arm(socket())) {
      co_await stream_.async_shutdown(redirect_error(use_awaitable, ec));
      deadline_.finish(ec);
    }
  }
  close();
}

void TlsTransport::close() {
  error_code ec;
  socket().close(ec);
}

bool TlsTransport::is_open() const {
  return stream_.next_layer().is_open();
}

}  // namespace portcullis::net

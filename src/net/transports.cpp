// TCP and TLS transports: thin coroutine wrappers that turn Asio completion into error values,
// with Deadline-based timeouts. TLS drives AWS-LC on the socket directly (see TlsTransport).
#include "net/transports.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/ip_network.h"
#include "net/client_auth.h"
#include "net/self_connect.h"
#include "net/tls_context.h"

namespace portcullis::net {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

constexpr std::chrono::milliseconds kShutdownTimeout{1000};

/// SSL_get_error needs an empty error queue before each SSL call. The queue is almost always
/// empty already, and peeking is much cheaper than ERR_clear_error's sweep of every slot (which
/// showed as 6 % of a keep-alive request's user-space instructions).
void clear_openssl_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

/// Connects `socket` to the first reachable endpoint within `deadline`. A connection the kernel
/// made to itself is refused (net/self_connect.h) and the endpoints are tried once more: that
/// attempt gets another source port, the address nobody listens on is refused like any closed
/// port, and a later endpoint that does listen is still reached.
awaitable<error_code> connect_endpoints(asio::ip::tcp::socket& socket, Deadline& deadline,
                                        const asio::ip::tcp::resolver::results_type& endpoints) {
  error_code ec;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!deadline.arm(socket)) co_return error_code(beast::error::timeout);
    co_await asio::async_connect(socket, endpoints, redirect_error(use_awaitable, ec));
    deadline.finish(ec);
    if (ec) co_return ec;
    ec = refuse_self_connection(socket);
    if (!ec) co_return ec;
  }
  co_return ec;
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  return core::IpAddress::parse(host).has_value();
}

// ---- Deadline ---------------------------------------------------------------------------------

Deadline::Deadline(const asio::any_io_executor& ex) : timer_(ex) {}

void Deadline::expires_after(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  armed_ = true;
  at_known_ = in_operation_;  // an operation already waiting: the new deadline counts from now
  if (at_known_) at_ = std::chrono::steady_clock::now() + timeout;
}

bool Deadline::arm(asio::ip::tcp::socket& socket) {
  fired_ = false;
  if (!armed_) return true;
  const auto now = std::chrono::steady_clock::now();
  if (!at_known_) {
    at_ = now + timeout_;
    at_known_ = true;
  }
  if (now >= at_) {
    fired_ = true;
    return false;
  }
  socket_ = &socket;
  in_operation_ = true;
  // One timer wait serves many operations: it is restarted only when none is pending or the
  // pending one would fire after the deadline. Arming and finishing an operation (every read
  // and write) then costs no timer scheduling, cancellation or aborted-handler dispatch.
  if (!waiting_ || wait_until_ > at_) start_wait();
  return true;
}

void Deadline::start_wait() {
  timer_.expires_at(at_);  // cancels a pending wait: its handler sees another generation
  wait_until_ = at_;
  waiting_ = true;
  const auto generation = ++generation_;
  // The weak pointer says whether the transport still exists when the handler runs.
  timer_.async_wait([this, generation, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (alive.expired() || generation != generation_) return;
    waiting_ = false;
    // Between operations, or without a deadline now, there is nothing to cancel; the next
    // arm() starts a new wait.
    if (ec || !in_operation_ || !armed_) return;
    if (std::chrono::steady_clock::now() < at_) {
      start_wait();  // the deadline moved later meanwhile
      return;
    }
    fired_ = true;
    error_code ignored;
    socket_->cancel(ignored);
  });
}

void Deadline::finish(error_code& ec) {
  in_operation_ = false;
  if (fired_ && (ec == asio::error::operation_aborted || !ec)) {
    if (ec) ec = beast::error::timeout;
  }
}

// ---- TcpTransport -----------------------------------------------------------------------------

TcpTransport::TcpTransport(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), deadline_(socket_.get_executor()) {
  error_code ignored;
  if (socket_.is_open()) socket_.non_blocking(true, ignored);
}

TcpTransport::TcpTransport(const asio::any_io_executor& ex) : socket_(ex), deadline_(ex) {}

awaitable<error_code> TcpTransport::connect(
    const asio::ip::tcp::resolver::results_type& endpoints) {
  const error_code ec = co_await connect_endpoints(socket_, deadline_, endpoints);
  if (!ec) {
    error_code ignored;
    socket_.non_blocking(true, ignored);  // for write()'s fast path
  }
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
  // Fast path: one non-blocking sendmsg usually takes everything (a request head to an
  // upstream): no timer to arm and cancel, no trip through the reactor.
  std::size_t total = 0;
  for (const auto& b : bufs) total += b.size();
  std::size_t sent = 0;
  if (socket_.is_open() && socket_.non_blocking()) {
    sent = socket_.write_some(bufs, ec);
    if (!ec && sent == total) co_return;
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return;
    ec = {};
  }
  std::vector<asio::const_buffer> rest;
  for (const auto& b : bufs) {
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    rest.push_back(b + sent);
    sent = 0;
  }
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await asio::async_write(socket_, rest, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

awaitable<void> TcpTransport::wait_readable(error_code& ec) {
  ec = {};
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await socket_.async_wait(asio::socket_base::wait_read, redirect_error(use_awaitable, ec));
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

namespace {}  // namespace

error_code ssl_failure(SSL* ssl, int result) {
  const int err = SSL_get_error(ssl, result);
  const unsigned long first = ERR_peek_error();
  error_code ec;
  if (err == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;  // close_notify
  } else if (err == SSL_ERROR_SSL) {
    ec = error_code(static_cast<int>(first), asio::error::get_ssl_category());
  } else if (err == SSL_ERROR_SYSCALL) {
    ec = errno != 0 ? error_code(errno, boost::system::system_category())
                    : error_code(asio::ssl::error::stream_truncated);
  } else {
    ec = asio::ssl::error::unspecified_system_error;
  }
  ERR_clear_error();
  return ec;
}

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& ctx)
    : socket_(std::move(socket)),
      ssl_(SSL_new(ctx.native_handle())),
      deadline_(socket_.get_executor()) {
  if (ssl_ == nullptr) throw std::bad_alloc();
  attach();
}

TlsTransport::TlsTransport(const asio::any_io_executor& ex, asio::ssl::context& ctx)
    : socket_(ex), ssl_(SSL_new(ctx.native_handle())), deadline_(ex) {
  if (ssl_ == nullptr) throw std::bad_alloc();
}

TlsTransport::~TlsTransport() {
  SSL_free(ssl_);
}

void TlsTransport::attach() {
  if (attached_ || !socket_.is_open()) return;
  error_code ec;
  socket_.non_blocking(true, ec);
  SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
  // Read whole records (and whatever follows) per recv instead of header and body separately;
  // a write the socket cannot take is retried from another buffer (the fast lane's pending).
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  attached_ = true;
}

awaitable<int> TlsTransport::drive(Op op, void* data, int size, error_code& ec) {
  ec = {};
  if (!attached_) {
    ec = asio::error::not_connected;
    co_return 0;
  }
  bool armed = false;
  int result = 0;
  for (;;) {
    clear_openssl_errors();
    errno = 0;
    int r = 0;
    switch (op) {
      case Op::Accept:
        r = SSL_accept(ssl_);
        break;
      case Op::Connect:
        r = SSL_connect(ssl_);
        break;
      case Op::Read:
        r = SSL_read(ssl_, data, size);
        break;
      case Op::Write:
        r = SSL_write(ssl_, data, size);
        break;
      case Op::Shutdown:
        // One close_notify, without waiting for the peer's (as nginx does): 0 = sent.
        r = SSL_shutdown(ssl_);
        if (r == 0) r = 1;
        break;
    }
    if (r > 0) {
      result = r;
      break;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ec = ssl_failure(ssl_, r);
      break;
    }
    if (!armed) {
      // The deadline only matters once we wait: the fast path arms no timer.
      if (!deadline_.arm(socket_)) {
        ec = beast::error::timeout;
        co_return 0;
      }
      armed = true;
    }
    co_await socket_.async_wait(
        err == SSL_ERROR_WANT_READ ? asio::socket_base::wait_read : asio::socket_base::wait_write,
        redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  if (armed) deadline_.finish(ec);
  co_return ec ? 0 : result;
}

awaitable<error_code> TlsTransport::connect(
    const asio::ip::tcp::resolver::results_type& endpoints) {
  const error_code ec = co_await connect_endpoints(socket(), deadline_, endpoints);
  if (!ec) attach();
  co_return ec;
}

awaitable<error_code> TlsTransport::handshake_server(std::chrono::milliseconds timeout) {
  error_code ec;
  // The certificate chain, key and verify settings are the listener's; a connection needs none
  // of them once its handshake is done, and an idle connection should hold as little as it can.
  SSL_set_shed_handshake_config(ssl_, 1);
  expires_after(timeout);
  co_await drive(Op::Accept, nullptr, 0, ec);
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
  co_await drive(Op::Connect, nullptr, 0, ec);
  co_return ec;
}

proxy::TlsFacts TlsTransport::facts() {
  SSL* ssl = native();
  const char* cipher = SSL_get_cipher_name(ssl);
  return {SSL_get_version(ssl), cipher ? cipher : ""};
}

std::span<const std::uint8_t> TlsTransport::coalesce(std::span<const asio::const_buffer> bufs) {
  // A per-thread scratch rather than a buffer per connection or per write: nothing lives in it
  // across a wait (a write the socket cannot take is retried from a copy).
  thread_local std::array<std::uint8_t, kCoalesce> scratch;
  std::size_t total = 0;
  for (const auto& b : bufs) total += b.size();
  if (bufs.size() < 2 || total > scratch.size()) return {};
  std::size_t at = 0;
  for (const auto& b : bufs) {
    std::memcpy(scratch.data() + at, b.data(), b.size());
    at += b.size();
  }
  return {scratch.data(), at};
}

std::shared_ptr<const pki::Verdict> TlsTransport::client_verdict(const ClientAuth& auth) {
  return connection_verdict(ssl_, auth);
}

std::string TlsTransport::peer_certificate_pem() {
  return net::peer_certificate_pem(ssl_);
}

bool TlsTransport::certificate_refused() {
  return peer_verification_failed(ssl_);
}

void TlsTransport::note_read_failure(error_code& ec) {
  if (!ec || ec == beast::error::timeout || ec == asio::error::operation_aborted) return;
  // The peer closed (with close_notify or without) or reset the connection.
  peer_closed_ = true;
  // A peer that closes without close_notify is, for HTTP framing purposes, a plain close.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
}

awaitable<std::size_t> TlsTransport::read_some(asio::mutable_buffer buf, error_code& ec) {
  const int size = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
  ec = {};
  if (attached_) {
    // Fast path without drive()'s coroutine frame: the data is usually there already (the
    // pipeline waited for readability first).
    clear_openssl_errors();
    errno = 0;
    const int r = SSL_read(ssl_, buf.data(), size);
    if (r > 0) co_return static_cast<std::size_t>(r);
    const int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ec = ssl_failure(ssl_, r);
      note_read_failure(ec);
      co_return 0;
    }
  }
  const int n = co_await drive(Op::Read, buf.data(), size, ec);
  note_read_failure(ec);
  co_return ec ? 0 : static_cast<std::size_t>(n);
}

awaitable<void> TlsTransport::write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  // Write coalescing: a head and a small body (or a chunk header, data and trailer) go out as
  // one TLS record and one send instead of one per piece.
  if (const auto joined = coalesce(bufs); !joined.empty()) {
    if (!attached_) {
      ec = asio::error::not_connected;
      co_return;
    }
    clear_openssl_errors();
    errno = 0;
    const int r = SSL_write(ssl_, joined.data(), static_cast<int>(joined.size()));
    if (r > 0) co_return;
    const int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ec = ssl_failure(ssl_, r);
      co_return;
    }
    // The scratch belongs to the thread: the retry gets a private copy of the same bytes
    // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), and the scratch is free for other connections.
    std::string pending(reinterpret_cast<const char*>(joined.data()), joined.size());
    co_await drive(Op::Write, pending.data(), static_cast<int>(pending.size()), ec);
    co_return;
  }
  for (const auto& b : bufs) {
    if (b.size() == 0) continue;
    // SSL_write takes an int: split larger pieces.
    const char* p = static_cast<const char*>(b.data());
    std::size_t left = b.size();
    while (left > 0) {
      const int n = static_cast<int>(std::min<std::size_t>(left, 1 << 30));
      co_await drive(Op::Write, const_cast<char*>(p), n, ec);
      if (ec) co_return;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
}

bool TlsTransport::has_buffered_input() const {
  return attached_ && SSL_has_pending(ssl_) == 1;
}

awaitable<void> TlsTransport::wait_readable(error_code& ec) {
  ec = {};
  if (!attached_ || SSL_has_pending(ssl_) == 1) co_return;
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await socket_.async_wait(asio::socket_base::wait_read, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

awaitable<void> TlsTransport::shutdown() {
  if (socket().is_open() && attached_ && SSL_is_init_finished(ssl_) == 1) {
    if (peer_closed_) {
      // No close_notify to a peer that has closed (nginx does the same): it would only draw a
      // reset, one more send for nothing. Marked as sent all the same: a TLS library drops the
      // session of a connection it believes was cut short, and the client could not resume.
      SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
    } else {
      error_code ec;
      expires_after(kShutdownTimeout);
      co_await drive(Op::Shutdown, nullptr, 0, ec);
    }
  }
  close();
}

awaitable<void> TlsTransport::close_after_alert() {
  constexpr std::chrono::milliseconds kLinger{1000};
  constexpr int kMaxReads = 64;  // at most 256 KiB discarded
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  expires_after(kLinger);
  std::array<char, 4096> discard;
  for (int i = 0; i < kMaxReads && !ec && socket_.is_open(); ++i) {
    if (!deadline_.arm(socket_)) break;
    co_await socket_.async_wait(asio::socket_base::wait_read, redirect_error(use_awaitable, ec));
    deadline_.finish(ec);
    if (ec) break;
    const std::size_t n = socket_.read_some(asio::buffer(discard), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
    if (!ec && n == 0) break;
  }
  close();
}

void TlsTransport::close() {
  error_code ec;
  socket().close(ec);
}

bool TlsTransport::is_open() const {
  return socket_.is_open();
}

}  // namespace portcullis::net

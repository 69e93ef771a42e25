// TlsTransport's server handshake by the gateway itself (net/tls13_server_handshake.h): the
// ClientHello is peeked at, not read, so a hello the own handshake leaves to OpenSSL is still in
// the socket for SSL_accept. Once done, the connection runs on the gateway's record layer from
// its first byte, as after OpenSSL's hand-off, and the SSL object is freed unused.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "net/client_auth.h"
#include "net/record_channel.h"
#include "net/tls13_client_hello.h"
#include "net/tls13_server_handshake.h"
#include "net/transports.h"
#include "pki/cert_files.h"

namespace portcullis::net {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

/// Enough for the largest record (a ClientHello of one record) and what may follow it.
constexpr std::size_t kHandshakeBuffer = kMaxRecordSize + 2048;

error_code last_error() {
  return {errno, boost::system::system_category()};
}

/// Wake-ups in a row that brought no new byte before the peek gives up.
constexpr int kMaxIdleWakeups = 2;

/// True when the peer has shut down its side (or the socket failed): no more bytes will come.
bool peer_hung_up(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/// SO_RCVLOWAT: readiness only once `bytes` are queued (a ClientHello arriving in pieces is
/// peeked at again only when whole, instead of on every segment).
void set_receive_low_water(int fd, int bytes) {
  ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

}  // namespace

awaitable<void> TlsTransport::wait_socket(asio::socket_base::wait_type what, error_code& ec) {
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await socket_.async_wait(what, redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

awaitable<error_code> TlsTransport::own_server_handshake(const tls13::ServerSetup& setup,
                                                         bool& served) {
  served = false;
  error_code ec;
  // Non-blocking, as attach() makes it for OpenSSL: the record layer's writes (send_records)
  // must get would_block from a full socket, not block the worker.
  socket_.non_blocking(true, ec);
  if (ec) co_return ec;
  const int fd = socket_.native_handle();
  std::vector<std::uint8_t> buffer(kHandshakeBuffer);
  std::unique_ptr<tls13::ServerHandshake> hs;
  std::size_t consume = 0;
  int low_water = 0;
  ssize_t peeked = 0;  ///< what the last peek saw
  int idle_wakeups = 0;
  std::string why;
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      co_await wait_socket(asio::socket_base::wait_read, ec);
      if (ec) break;
      continue;
    }
    // The peer closed or the socket failed: OpenSSL's accept reports it as it always has.
    if (n <= 0) break;
    if (n == peeked) {
      // A wake-up that brought nothing new: the reactor reporting an edge it had already seen
      // (once), or the peer shut its side down after part of a record, or the kernel capped
      // SO_RCVLOWAT. SECURITY: never peek again in a loop; OpenSSL takes the connection.
      if (peer_hung_up(fd) || ++idle_wakeups > kMaxIdleWakeups) break;
    } else {
      idle_wakeups = 0;
    }
    peeked = n;
    const auto bytes = std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n));
    const tls13::HelloFrame frame = tls13::frame_client_hello(bytes);
    if (frame.status == tls13::HelloFrame::Status::Other) break;
    if (frame.status == tls13::HelloFrame::Status::ClientHello) {
      hs = tls13::ServerHandshake::start(setup, frame.message, &why);
      consume = frame.consumed;
      break;
    }
    const int need =
        bytes.size() < kRecordHeaderSize
            ? static_cast<int>(kRecordHeaderSize)
            : static_cast<int>(kRecordHeaderSize + (std::size_t{bytes[3]} << 8 | bytes[4]));
    if (need != low_water) {
      set_receive_low_water(fd, need);
      low_water = need;
    }
    co_await wait_socket(asio::socket_base::wait_read, ec);
    if (ec) break;
  }
  if (low_water != 0) set_receive_low_water(fd, 1);
  if (ec) {
    // A timeout or a failed wait before any decision: the handshake failed (as OpenSSL's would).
    served = true;
    co_return ec;
  }
  if (!hs) {
    if (!why.empty()) core::log(core::LogLevel::Debug, "TLS handshake left to OpenSSL: {}", why);
    co_return error_code{};
  }
  served = true;
  own_ = std::move(hs);
  // The ClientHello is ours now: take it out of the socket.
  if (::recv(fd, buffer.data(), consume, MSG_DONTWAIT) != static_cast<ssize_t>(consume)) {
    co_return last_error();
  }
  std::vector<std::uint8_t> input;
  input.reserve(kHandshakeBuffer);
  while (own_->step() != tls13::ServerHandshake::Step::Done) {
    if (!own_->output().empty()) {
      co_await send_records(own_->output(), ec);
      own_->output().clear();
      if (ec) co_return ec;
    }
    if (own_->step() == tls13::ServerHandshake::Step::Failed) co_return own_->error();
    // Whole records are processed as they come: the buffer holds at most one record and a bit.
    const std::size_t have = input.size();
    input.resize(kHandshakeBuffer);
    const ssize_t got = ::recv(fd, input.data() + have, kHandshakeBuffer - have, MSG_DONTWAIT);
    input.resize(have + (got > 0 ? static_cast<std::size_t>(got) : 0));
    // A close in mid-handshake, reported as OpenSSL's path reports it.
    if (got == 0) co_return asio::ssl::error::stream_truncated;
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return last_error();
      co_await wait_socket(asio::socket_base::wait_read, ec);
      if (ec) co_return ec;
      continue;
    }
    own_->receive(input);
  }
  // Done: the records go to the gateway's record layer, with whatever followed the Finished.
  records_ = std::make_unique<RecordChannel>(own_->take_protection());
  // The ticket goes out with the first response: one send (and one segment) less.
  records_->seal_before_next_record(own_->take_ticket());
  if (!input.empty()) {
    const auto space = records_->input_space();
    if (input.size() > space.size()) co_return asio::error::message_size;
    std::memcpy(space.data(), input.data(), input.size());
    records_->input_received(input.size());
  }
  co_return error_code{};
}

std::shared_ptr<const pki::Verdict> TlsTransport::client_verdict(const ClientAuth& auth) {
  if (own_) return own_->verdict() ? own_->verdict() : auth.missing;
  return ssl_ ? connection_verdict(ssl_, auth) : auth.missing;
}

std::string TlsTransport::peer_certificate_pem() {
  if (own_) return own_->leaf() ? pki::to_pem(own_->leaf()) : std::string();
  return ssl_ ? net::peer_certificate_pem(ssl_) : std::string();
}

bool TlsTransport::certificate_refused() {
  if (own_) return own_->certificate_refused();
  return ssl_ && SSL_get_verify_result(ssl_) != X509_V_OK;
}

}  // namespace portcullis::net

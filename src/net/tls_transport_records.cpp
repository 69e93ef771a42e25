// TlsTransport after the hand-off: the socket carries records sealed and opened by the
// connection's RecordChannel. Reads and writes try the socket at once and wait for readiness
// only when it has nothing or is full, as the OpenSSL path does.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "core/log.h"
#include "net/record_channel.h"
#include "net/tls_handoff.h"
#include "net/transports.h"

namespace portcullis::net {
namespace {

using asio::redirect_error;
using asio::use_awaitable;

constexpr std::chrono::milliseconds kShutdownTimeout{1000};
/// Plaintext sealed per send: larger writes go out in batches of this size.
constexpr std::size_t kSealBatch = 64 * 1024;

bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

error_code last_error() {
  return {errno, boost::system::system_category()};
}

/// One non-blocking send on the raw descriptor (attached to the reactor or not).
std::size_t send_now(int fd, const std::uint8_t* data, std::size_t size, error_code& ec) {
  ec = {};
  const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return static_cast<std::size_t>(n);
  ec = last_error();
  return 0;
}

}  // namespace

void TlsTransport::try_handoff() {
  std::string why;
  auto protection = take_record_protection(ssl_, &why);
  if (!protection) {
    core::log(core::LogLevel::Debug, "TLS records stay with OpenSSL: {}", why);
    watched_ = watched_for_handoff(ssl_);
    return;
  }
  records_ = std::make_unique<RecordChannel>(std::move(*protection));
  // SECURITY: OpenSSL's copy of the traffic keys goes with it (SSL_free cleanses).
  SSL_free(ssl_);
  ssl_ = nullptr;
}

void TlsTransport::send_failure_alert() {
  std::vector<std::uint8_t> alert;
  if (!records_->seal_failure_alert(alert)) return;
  error_code ignored;
  send_now(fd(), alert.data(), alert.size(), ignored);  // best effort: the connection is over
}

awaitable<void> TlsTransport::send_records(std::vector<std::uint8_t>& bytes, error_code& ec) {
  ec = {};
  const std::size_t sent = socket_.write_some(asio::buffer(bytes), ec);
  if (!ec && sent == bytes.size()) co_return;
  if (ec && !would_block(ec)) co_return;
  co_await send_records_waiting(bytes, ec ? 0 : sent, ec);
}

awaitable<void> TlsTransport::send_records_waiting(std::vector<std::uint8_t>& bytes,
                                                   std::size_t sent, error_code& ec) {
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await asio::async_write(socket_, asio::buffer(bytes.data() + sent, bytes.size() - sent),
                             redirect_error(use_awaitable, ec));
  deadline_.finish(ec);
}

std::optional<std::size_t> TlsTransport::records_read_now(asio::mutable_buffer buf,
                                                          error_code& ec) {
  ec = {};
  const std::span<std::uint8_t> out(static_cast<std::uint8_t*>(buf.data()), buf.size());
  for (;;) {
    switch (records_->process()) {
      case RecordChannel::Step::Data:
        return records_->take_plaintext(out);
      case RecordChannel::Step::Closed:
        ec = asio::error::eof;  // close_notify
        note_read_failure(ec);
        return 0;
      case RecordChannel::Step::Failed:
        send_failure_alert();
        ec = records_->error();
        note_read_failure(ec);
        return 0;
      case RecordChannel::Step::NeedInput:
        break;
    }
    const auto space = records_->input_space();
    const ssize_t got = ::recv(fd(), space.data(), space.size(), MSG_DONTWAIT);
    if (got < 0) {
      ec = last_error();
      if (would_block(ec)) {
        ec = {};
        return std::nullopt;
      }
      note_read_failure(ec);
      return 0;
    }
    // Closed without close_notify: a plain end of stream, as on the OpenSSL path.
    if (got == 0) {
      ec = asio::error::eof;
      note_read_failure(ec);
      return 0;
    }
    last_read_full_ = static_cast<std::size_t>(got) == space.size();
    records_->input_received(static_cast<std::size_t>(got));
  }
}

awaitable<std::size_t> TlsTransport::records_read_some(asio::mutable_buffer buf, error_code& ec) {
  if (!deadline_.arm(socket_)) {
    ec = beast::error::timeout;
    co_return 0;
  }
  std::optional<std::size_t> n;
  while (!n) {
    co_await socket_.async_wait(asio::socket_base::wait_read, redirect_error(use_awaitable, ec));
    if (ec) break;
    n = records_read_now(buf, ec);
  }
  deadline_.finish(ec);
  if (!n) note_read_failure(ec);  // the wait failed or timed out
  co_return ec ? 0 : n.value_or(0);
}

bool TlsTransport::records_seal_batch(std::span<const asio::const_buffer> bufs, std::size_t& index,
                                      std::size_t& offset, std::vector<std::uint8_t>& out) {
  std::array<std::span<const std::uint8_t>, 16> pieces;
  const std::size_t count = gather_window(bufs, index, offset, kSealBatch, std::span(pieces));
  out.clear();
  return records_->seal(std::span(pieces.data(), count), out);
}

bool TlsTransport::records_write_now(std::span<const asio::const_buffer> bufs, std::size_t& index,
                                     std::size_t& offset, std::vector<std::uint8_t>& rest,
                                     error_code& ec) {
  ec = {};
  // Sealed into a per-thread buffer and sent at once; only what the socket does not take is
  // copied, for the coroutine that waits.
  thread_local std::vector<std::uint8_t> sealed;
  while (index < bufs.size()) {
    if (!records_seal_batch(bufs, index, offset, sealed)) {
      ec = records_->error();
      return false;
    }
    const std::size_t sent = send_now(fd(), sealed.data(), sealed.size(), ec);
    if (!ec && sent == sealed.size()) continue;
    if (ec && !would_block(ec)) return false;
    rest.assign(sealed.begin() + static_cast<std::ptrdiff_t>(ec ? 0 : sent), sealed.end());
    ec = {};
    return false;
  }
  return true;
}

awaitable<void> TlsTransport::records_write(std::span<const asio::const_buffer> bufs,
                                            std::size_t index, std::size_t offset,
                                            std::vector<std::uint8_t> rest, error_code& ec) {
  co_await send_records_waiting(rest, 0, ec);
  while (!ec && index < bufs.size()) {
    if (!records_seal_batch(bufs, index, offset, rest)) {
      ec = records_->error();
      co_return;
    }
    co_await send_records(rest, ec);
  }
}

bool TlsTransport::lane_ready() {
  if (watched_ && !records_) try_handoff();
  return records_ && socket_.is_open() && !records_->has_buffered_input() && !peer_closed_;
}

bool TlsTransport::lane_more_input() const {
  return last_read_full_ || records_->has_buffered_input();
}

void TlsTransport::lane_idle() {
  if (!records_->has_buffered_input()) records_->release_idle_buffer();
}

int TlsTransport::lane_detach() {
  lane_idle();
  error_code ec;
  protocol_ = socket_.local_endpoint(ec).protocol();
  const int fd = socket_.release(ec);  // deregisters from the reactor; the fd stays open
  detached_fd_ = ec ? -1 : fd;
  return detached_fd_;
}

void TlsTransport::lane_attach() {
  error_code ec;
  socket_.assign(protocol_, detached_fd_, ec);
  if (ec) ::close(detached_fd_);            // cannot happen for a valid descriptor; never leak it
  if (!ec) socket_.non_blocking(true, ec);  // for send_records' writes that must not block
  detached_fd_ = -1;
}

bool TlsTransport::lane_write(std::span<const asio::const_buffer> bufs,
                              std::vector<std::uint8_t>& rest, error_code& ec) {
  std::size_t index = 0;
  std::size_t offset = 0;
  std::vector<std::uint8_t> unsent;
  if (records_write_now(bufs, index, offset, unsent, ec)) return true;
  if (ec) return false;
  rest.insert(rest.end(), unsent.begin(), unsent.end());
  // What records_write_now did not reach yet is sealed now and waits behind it.
  while (index < bufs.size()) {
    if (!records_seal_batch(bufs, index, offset, unsent)) {
      ec = records_->error();
      return false;
    }
    rest.insert(rest.end(), unsent.begin(), unsent.end());
  }
  return true;
}

awaitable<void> TlsTransport::records_shutdown() {
  if (socket_.is_open() && !peer_closed_ && !records_->error()) {
    std::vector<std::uint8_t> notify;
    if (records_->seal_close_notify(notify)) {
      error_code ec;
      expires_after(kShutdownTimeout);
      co_await send_records(notify, ec);
    }
  }
  close();
}

}  // namespace portcullis::net

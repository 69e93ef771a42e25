// TlsTransport after the hand-off: the socket carries records sealed and opened by the
// connection's RecordChannel. Reads and writes try the socket at once and wait for readiness
// only when it has nothing or is full, as the OpenSSL path does.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

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
  socket_.write_some(asio::buffer(alert), ignored);  // best effort: the connection is over
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
    const std::size_t got = socket_.read_some(asio::buffer(space.data(), space.size()), ec);
    if (would_block(ec)) {
      ec = {};
      return std::nullopt;
    }
    // eof: closed without close_notify, a plain end of stream as on the OpenSSL path.
    if (ec) {
      note_read_failure(ec);
      return 0;
    }
    records_->input_received(got);
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
    const std::size_t sent = socket_.write_some(asio::buffer(sealed), ec);
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

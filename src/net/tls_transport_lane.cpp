// TlsTransport for the worker's fast lane (net/fast_lane.h): the connection's SSL object read and
// written without coroutines on the descriptor the lane polls, so a request the lane serves costs
// one SSL_read and one SSL_write and no reactor round trip.
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

#include <unistd.h>

#include "net/transports.h"

namespace portcullis::net {

bool TlsTransport::lane_ready() const {
  return attached_ && socket_.is_open() && !peer_closed_ && SSL_is_init_finished(ssl_) == 1 &&
         SSL_has_pending(ssl_) == 0;
}

bool TlsTransport::lane_more_input() const {
  // Only a read that found the socket empty proves no byte is left that no new edge will
  // announce: with read-ahead the library takes what one recv gives, which may end anywhere.
  return !socket_drained_ || SSL_has_pending(ssl_) == 1;
}

int TlsTransport::lane_detach() {
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
  if (!ec) socket_.non_blocking(true, ec);  // the SSL object's own reads and writes never block
  detached_fd_ = -1;
}

std::optional<std::size_t> TlsTransport::lane_read(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  ERR_clear_error();
  errno = 0;
  const int size = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
  const int r = SSL_read(ssl_, buf.data(), size);
  socket_drained_ = false;
  if (r > 0) return static_cast<std::size_t>(r);
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    socket_drained_ = err == SSL_ERROR_WANT_READ;
    return std::nullopt;
  }
  ec = ssl_failure(ssl_, r);
  note_read_failure(ec);
  return 0;
}

bool TlsTransport::lane_write(std::span<const asio::const_buffer> bufs,
                              std::vector<std::uint8_t>& pending, error_code& ec) {
  ec = {};
  // Bytes the library refused before go first, and are offered again as they were
  // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them live in `pending` meanwhile).
  if (!pending.empty()) {
    for (const auto& b : bufs) {
      const auto* p = static_cast<const std::uint8_t*>(b.data());
      pending.insert(pending.end(), p, p + b.size());
    }
    const auto sent = write_now(pending.data(), pending.size(), ec);
    if (ec) return false;
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sent));
    return true;
  }
  // A head and a small body go out as one record and one send.
  if (const auto joined = coalesce(bufs); !joined.empty()) {
    const auto sent = write_now(joined.data(), joined.size(), ec);
    if (ec) return false;
    pending.assign(joined.begin() + static_cast<std::ptrdiff_t>(sent), joined.end());
    return true;
  }
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    const auto* p = static_cast<const std::uint8_t*>(bufs[i].data());
    const auto sent = write_now(p, bufs[i].size(), ec);
    if (ec) return false;
    if (sent == bufs[i].size()) continue;
    pending.assign(p + sent, p + bufs[i].size());
    for (++i; i < bufs.size(); ++i) {
      const auto* q = static_cast<const std::uint8_t*>(bufs[i].data());
      pending.insert(pending.end(), q, q + bufs[i].size());
    }
  }
  return true;
}

std::size_t TlsTransport::write_now(const std::uint8_t* data, std::size_t size, error_code& ec) {
  std::size_t sent = 0;
  while (sent < size) {
    ERR_clear_error();
    errno = 0;
    const int n = static_cast<int>(std::min<std::size_t>(size - sent, 1 << 30));
    const int r = SSL_write(ssl_, data + sent, n);
    if (r > 0) {
      sent += static_cast<std::size_t>(r);
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) ec = ssl_failure(ssl_, r);
    break;
  }
  return sent;
}

}  // namespace portcullis::net

// The byte stream the pipeline reads and writes: a TCP or TLS connection (implemented in net/),
// or a test double. Errors are values; a timeout is reported as boost::beast::error::timeout.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <span>
#include <string>

namespace portcullis::proxy {

using boost::asio::awaitable;
using boost::system::error_code;

/// TLS facts of a client connection, for the access log (empty strings on plain listeners).
struct TlsFacts {
  std::string version;  ///< "TLSv1.3"
  std::string cipher;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Reads at least one byte (or fails: eof, reset, timeout).
  virtual awaitable<std::size_t> read_some(boost::asio::mutable_buffer buf, error_code& ec) = 0;
  /// Writes all buffers (or fails).
  virtual awaitable<void> write(std::span<const boost::asio::const_buffer> bufs,
                                error_code& ec) = 0;
  /// Waits, within the deadline, until a read_some would find data (or the peer closed), without
  /// holding a read buffer meanwhile: idle keep-alive connections wait here. A transport that
  /// cannot tell returns at once.
  virtual awaitable<void> wait_readable(error_code& ec) {
    ec = {};
    co_return;
  }
  /// Whether bytes the peer sent are already buffered by the transport (decrypted or not), so a
  /// read would return them without touching the socket.
  virtual bool has_buffered_input() const { return false; }
  /// Deadline for the next operations; replaces any earlier one.
  virtual void expires_after(std::chrono::milliseconds timeout) = 0;
  virtual void expires_never() = 0;
  /// Orderly close (TLS close_notify when TLS), bounded in time; never fails.
  virtual awaitable<void> shutdown() = 0;
  /// Immediate close; cancels pending operations.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
};

}  // namespace portcullis::proxy

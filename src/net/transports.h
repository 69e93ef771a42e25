// proxy::Transport over a plain TCP socket and over TLS (AWS-LC directly on the socket), with
// per-operation deadlines that cancel the pending operation but keep the connection open, so a
// 408 can still be written after a read timed out. Server and client TLS handshakes live here too.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pki/verdict.h"
#include "proxy/transport.h"

namespace portcullis::net {

struct ClientAuth;
using boost::asio::awaitable;
using boost::system::error_code;
namespace asio = boost::asio;
namespace beast = boost::beast;

/// A deadline for the operations of one socket. When it passes, the pending operation is
/// cancelled (not the socket closed) and reported as boost::beast::error::timeout.
///
/// The clock starts when an operation first has to wait after expires_after() (arm()), not at
/// the call itself: operations that complete at once (most writes, reads of data already
/// there) never read the clock. The two moments are the same for the gateway's purposes: no
/// operation waits between them.
class Deadline {
 public:
  explicit Deadline(const asio::any_io_executor& ex);
  void expires_after(std::chrono::milliseconds timeout);
  void expires_never() { armed_ = false; }

  /// Before an operation: false when the deadline has already passed (fail it at once).
  bool arm(asio::ip::tcp::socket& socket);
  /// After the operation: maps its cancellation by the deadline to error::timeout.
  void finish(error_code& ec);

 private:
  void start_wait();

  asio::steady_timer timer_;
  std::chrono::milliseconds timeout_{};
  std::chrono::steady_clock::time_point at_{};  ///< valid when at_known_
  bool at_known_ = false;
  std::chrono::steady_clock::time_point wait_until_{};  ///< when the pending wait fires
  asio::ip::tcp::socket* socket_ = nullptr;             ///< of the operation in progress
  bool armed_ = false;
  bool fired_ = false;
  bool waiting_ = false;          ///< a timer wait is pending
  bool in_operation_ = false;     ///< between arm() and finish()
  std::uint64_t generation_ = 0;  ///< a superseded timer handler must not act
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  ///< lets late timer handlers bail out
};

class TcpTransport final : public proxy::Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket);
  explicit TcpTransport(const asio::any_io_executor& ex);

  asio::ip::tcp::socket& socket() { return socket_; }
  /// Connects to the first reachable address of `endpoints` within the current deadline.
  awaitable<error_code> connect(const asio::ip::tcp::resolver::results_type& endpoints);

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override;
  awaitable<void> write(std::span<const asio::const_buffer> bufs, error_code& ec) override;
  awaitable<void> wait_readable(error_code& ec) override;
  void expires_after(std::chrono::milliseconds timeout) override {
    deadline_.expires_after(timeout);
  }
  void expires_never() override { deadline_.expires_never(); }
  awaitable<void> shutdown() override;
  void close() override;
  bool is_open() const override { return socket_.is_open(); }

 private:
  asio::ip::tcp::socket socket_;
  Deadline deadline_;
};

/// TLS with the library (AWS-LC) reading and writing the non-blocking socket itself: no
/// intermediate BIO pair or copy buffers, and a waiting operation is one readiness wait on the
/// socket.
class TlsTransport final : public proxy::Transport {
 public:
  /// Writes of several pieces up to this size are joined into one record and one send.
  static constexpr std::size_t kCoalesce = 16 * 1024;

  TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& ctx);
  TlsTransport(const asio::any_io_executor& ex, asio::ssl::context& ctx);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  asio::ip::tcp::socket& socket() { return socket_; }
  SSL* native() { return ssl_; }
  awaitable<error_code> connect(const asio::ip::tcp::resolver::results_type& endpoints);

  /// Server-side handshake bounded by `timeout`.
  awaitable<error_code> handshake_server(std::chrono::milliseconds timeout);
  /// Client-side handshake: SNI (unless empty or an IP literal) and peer name verification
  /// against `verify_name` (a DNS name or an IP literal).
  awaitable<error_code> handshake_client(const std::string& sni, const std::string& verify_name,
                                         std::chrono::milliseconds timeout);
  /// "TLSv1.3" and the cipher name, after the handshake.
  proxy::TlsFacts facts();
  /// After a server handshake (done or failed): the client-certificate verdict
  /// (net/client_auth.h's connection_verdict).
  std::shared_ptr<const pki::Verdict> client_verdict(const ClientAuth& auth);
  /// The client's leaf certificate as PEM ("" when none).
  std::string peer_certificate_pem();
  /// True when the server handshake refused the client's certificate chain.
  bool certificate_refused();

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override;
  awaitable<void> write(std::span<const asio::const_buffer> bufs, error_code& ec) override;
  awaitable<void> wait_readable(error_code& ec) override;
  bool has_buffered_input() const override;
  void expires_after(std::chrono::milliseconds timeout) override {
    deadline_.expires_after(timeout);
  }
  void expires_never() override { deadline_.expires_never(); }
  awaitable<void> shutdown() override;
  void close() override;
  bool is_open() const override;
  /// After a handshake the library ended with an alert: half-closes, reads and discards what
  /// the client still sends (bounded in time and bytes), then closes. Closing with unread bytes
  /// makes the kernel send a reset, which can destroy the alert before the client reads it (a
  /// TLS 1.3 client sends its request before it sees the refusal of its certificate).
  awaitable<void> close_after_alert();

  // ---- the worker's fast lane (net/fast_lane.h): the same SSL object, without coroutines ----
  /// At an idle moment: true when the connection is established with nothing buffered in the
  /// library, so the lane can take it.
  bool lane_ready() const;
  /// Takes the socket out of the io_context's reactor (the lane polls it itself); returns it.
  int lane_detach();
  /// Puts the socket back under the io_context.
  void lane_attach();
  /// SSL_read without waiting: the bytes read, or 0 with `ec` set (end of stream, failure);
  /// nullopt when the socket has nothing yet (wait for readiness, then call again).
  std::optional<std::size_t> lane_read(asio::mutable_buffer buf, error_code& ec);
  /// After lane_read: bytes may remain that no new readiness edge will announce (bytes in the
  /// library's buffers, or in the socket when the last read did not find it empty).
  bool lane_more_input() const;
  /// SSL_write of `bufs` (after `pending`, which must go first) as far as the socket takes them
  /// without waiting; what the library did not accept stays in `pending`, in order, to be
  /// written again by the next call once the socket is writable. False when writing failed
  /// (`ec`).
  bool lane_write(std::span<const asio::const_buffer> bufs, std::vector<std::uint8_t>& pending,
                  error_code& ec);

 private:
  enum class Op { Accept, Connect, Read, Write, Shutdown };
  /// Runs one library call to completion, waiting for the socket whenever the library asks (the
  /// deadline is armed only then). Returns the call's positive result, or 0 with `ec` set.
  awaitable<int> drive(Op op, void* data, int size, error_code& ec);
  /// Attaches the socket to the SSL object (once the socket is open).
  void attach();
  /// Several pieces of at most kCoalesce bytes in all, joined in a per-thread scratch buffer (so
  /// they go out as one record and one send); empty when `bufs` is one piece or too large. Valid
  /// until the thread's next call.
  static std::span<const std::uint8_t> coalesce(std::span<const asio::const_buffer> bufs);
  /// SSL_write of `data` without waiting: how much the library took; `ec` set on failure.
  std::size_t write_now(const std::uint8_t* data, std::size_t size, error_code& ec);
  /// After a failed read: remembers that the peer has closed or reset the connection (not on
  /// a timeout), and reports a close without close_notify as a plain end of stream.
  void note_read_failure(error_code& ec);

  asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
  bool attached_ = false;
  bool peer_closed_ = false;     ///< a read saw the peer's close: shutdown() sends no close_notify
  int detached_fd_ = -1;         ///< the socket while the fast lane holds it
  bool socket_drained_ = false;  ///< the last lane_read found the socket empty
  asio::ip::tcp protocol_ = asio::ip::tcp::v4();
  Deadline deadline_;
};

/// The error of a failed SSL call (`result` its return value), in the categories Asio's SSL
/// stream uses: eof for close_notify, stream_truncated for a close without it, the library's
/// error code otherwise. Clears the thread's error queue.
error_code ssl_failure(SSL* ssl, int result);

/// True when `host` is an IPv4 or IPv6 literal.
bool is_ip_literal(const std::string& host);

}  // namespace portcullis::net

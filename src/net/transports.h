// proxy::Transport over a plain TCP socket and over TLS (OpenSSL directly on the socket), with
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

class RecordChannel;
namespace tls13 {
struct ServerSetup;
class ServerHandshake;
}  // namespace tls13

/// TLS with OpenSSL reading and writing the (non-blocking) socket itself: no intermediate BIO
/// pair or copy buffers, and a waiting operation is one readiness wait on the socket.
///
/// A server connection of a context with hand-off enabled (net/tls_handoff.h) leaves OpenSSL at
/// its first idle moment after a TLS 1.3 handshake: the SSL object is freed and the gateway's
/// own record layer (net/record_channel.h) protects the rest of the connection, so an idle
/// connection keeps two traffic keys instead of OpenSSL's ~20 KiB.
class TlsTransport final : public proxy::Transport {
 public:
  TlsTransport(asio::ip::tcp::socket socket, asio::ssl::context& ctx);
  TlsTransport(const asio::any_io_executor& ex, asio::ssl::context& ctx);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  asio::ip::tcp::socket& socket() { return socket_; }
  /// The OpenSSL connection; nullptr once the records have been handed over, and for a
  /// listener connection the own handshake served.
  SSL* native() { return ssl_; }
  /// True once the gateway's record layer has taken the connection over.
  bool handed_over() const { return records_ != nullptr; }
  awaitable<error_code> connect(const asio::ip::tcp::resolver::results_type& endpoints);

  /// Server-side handshake bounded by `timeout`.
  awaitable<error_code> handshake_server(std::chrono::milliseconds timeout);
  /// Client-side handshake: SNI (unless empty or an IP literal) and peer name verification
  /// against `verify_name` (a DNS name or an IP literal).
  awaitable<error_code> handshake_client(const std::string& sni, const std::string& verify_name,
                                         std::chrono::milliseconds timeout);
  /// "TLSv1.3" and the cipher name, after the handshake.
  proxy::TlsFacts facts();
  /// After a server handshake (done or failed): the client-certificate verdict, whichever
  /// handshake ran (net/client_auth.h's connection_verdict for OpenSSL's).
  std::shared_ptr<const pki::Verdict> client_verdict(const ClientAuth& auth);
  /// The client's leaf certificate as PEM ("" when none).
  std::string peer_certificate_pem();
  /// True when the server handshake refused the client's certificate chain.
  bool certificate_refused();
  /// True when the gateway's own handshake served this connection (net/tls13_server_handshake.h).
  bool own_handshake() const { return own_ != nullptr; }

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

  // ---- the worker's fast lane (net/fast_lane.h): handed-over connections only ---------------
  /// At an idle moment: hands the records over when due; true when the connection runs on the
  /// gateway's record layer with nothing buffered, so the lane can take it.
  bool lane_ready();
  /// Takes the socket out of the io_context's reactor (the lane polls it itself); returns it.
  int lane_detach();
  /// Puts the socket back under the io_context.
  void lane_attach();
  /// Reads what the socket has, without waiting: see records_read_now.
  std::optional<std::size_t> lane_read(asio::mutable_buffer buf, error_code& ec) {
    last_read_full_ = true;  // until a receive of this read shows the socket emptied
    return records_read_now(buf, ec);
  }
  /// After lane_read: bytes may remain that no new readiness edge will announce (it was served
  /// from the record layer, its last receive filled its buffer, or whole records wait).
  bool lane_more_input() const;
  /// Between requests: frees the record layer's input buffer when it holds nothing.
  void lane_idle();
  /// Seals `bufs` and sends what the socket takes at once; the sealed bytes it did not take are
  /// appended to `rest`. False when sealing or sending failed (`ec`).
  bool lane_write(std::span<const asio::const_buffer> bufs, std::vector<std::uint8_t>& rest,
                  error_code& ec);

 private:
  enum class Op { Accept, Connect, Read, Write, Shutdown };
  /// Runs one OpenSSL call to completion, waiting for the socket whenever OpenSSL asks (the
  /// deadline is armed only then). Returns the call's positive result, or 0 with `ec` set.
  awaitable<int> drive(Op op, void* data, int size, error_code& ec);
  /// Makes the SSL object (and attaches it, if the socket is open).
  void create_ssl();
  /// Attaches the socket to the SSL object (once both exist).
  void attach();
  /// After a failed read: remembers that the peer has closed or reset the connection (not on
  /// a timeout), and reports a close without close_notify as a plain end of stream.
  void note_read_failure(error_code& ec);

  // The gateway's own TLS 1.3 server handshake (tls_transport_handshake.cpp).
  /// Peeks at the ClientHello: when the own handshake takes it, runs it (`served` true, the
  /// result returned); otherwise leaves the bytes in the socket for OpenSSL (`served` false).
  awaitable<error_code> own_server_handshake(const tls13::ServerSetup& setup, bool& served);
  /// Waits until the socket is readable (writable), within the deadline.
  awaitable<void> wait_socket(asio::socket_base::wait_type what, error_code& ec);

  // After the hand-off (tls_transport_records.cpp).
  void try_handoff();
  /// Reads what the socket has without waiting: the bytes read, or 0 with `ec` set; nullopt
  /// when the socket has nothing yet (wait, then call again).
  std::optional<std::size_t> records_read_now(asio::mutable_buffer buf, error_code& ec);
  /// Waits for the socket within the deadline, then reads.
  awaitable<std::size_t> records_read_some(asio::mutable_buffer buf, error_code& ec);
  /// Seals the next batch of `bufs` (from `index`, `offset`, advanced) into `out`.
  bool records_seal_batch(std::span<const asio::const_buffer> bufs, std::size_t& index,
                          std::size_t& offset, std::vector<std::uint8_t>& out);
  /// Seals and sends `bufs` as far as the socket takes them without waiting: true when all went
  /// out; otherwise `rest` holds the sealed bytes not sent and `index`, `offset` what follows.
  bool records_write_now(std::span<const asio::const_buffer> bufs, std::size_t& index,
                         std::size_t& offset, std::vector<std::uint8_t>& rest, error_code& ec);
  /// Sends `rest` once the socket can take it, then seals and sends `bufs` from `index`,
  /// `offset`, waiting as needed.
  awaitable<void> records_write(std::span<const asio::const_buffer> bufs, std::size_t index,
                                std::size_t offset, std::vector<std::uint8_t> rest, error_code& ec);
  awaitable<void> records_shutdown();
  /// Sends `bytes`: at once if the socket takes them, else waiting within the deadline.
  awaitable<void> send_records(std::vector<std::uint8_t>& bytes, error_code& ec);
  /// Waits within the deadline until the socket has taken all of `bytes` from `sent` on.
  awaitable<void> send_records_waiting(std::vector<std::uint8_t>& bytes, std::size_t sent,
                                       error_code& ec);
  /// Sends the fatal alert a failed record layer owes the peer, if the socket takes it at once.
  void send_failure_alert();

  asio::ip::tcp::socket socket_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;                      ///< nullptr until made, and after the hand-off
  std::unique_ptr<RecordChannel> records_;  ///< set by the hand-off (ssl_ is freed then)
  /// The own handshake's outcome (its keys already moved to records_), when it served.
  std::unique_ptr<tls13::ServerHandshake> own_;
  bool watched_ = false;  ///< the handshake was watched for a hand-off
  bool attached_ = false;
  bool peer_closed_ = false;     ///< a read saw the peer's close: shutdown() sends no close_notify
  int detached_fd_ = -1;         ///< the socket while the fast lane holds it
  bool last_read_full_ = false;  ///< the last receive filled the space it was given
  asio::ip::tcp protocol_ = asio::ip::tcp::v4();
  Deadline deadline_;
  /// The socket's descriptor, attached or not.
  int fd() { return detached_fd_ >= 0 ? detached_fd_ : socket_.native_handle(); }
};

/// True when `host` is an IPv4 or IPv6 literal.
bool is_ip_literal(const std::string& host);

}  // namespace portcullis::net

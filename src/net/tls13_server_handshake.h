// The gateway's own TLS 1.3 server handshake (RFC 8446), for the connections it can serve
// entirely: TLS 1.3 offered with an X25519 key share, an ECDSA P-256 server key, no early data,
// no HelloRetryRequest. Everything else (TLS 1.2, other groups or keys, odd hellos) stays with
// OpenSSL, which reads the same ClientHello from the socket (the transport only peeked at it).
//
// Why: OpenSSL 3.0 spends about twice the handshake's maths on its own machinery (decoders,
// provider fetches, parameter arrays, key-log formatting), which kept full handshakes near half
// of the `openssl speed` ceiling (bench/README.md). Here the maths is OpenSSL's (X25519,
// ECDSA, AEAD, SHA-2) and the rest is a few hundred lines of framing. Client certificates are
// verified by the same engine and verdict cache as in OpenSSL's path (net/client_auth.h);
// resumption uses stateful tickets (net/tls13_session_store.h); the records go straight to the
// gateway's record layer (net/record_channel.h), as after OpenSSL's hand-off.
//
// No sockets here: ClientHello in, first flight out, the client's records in, then the traffic
// keys, the verdict and the ticket to send (TlsTransport::handshake_server moves the bytes).
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/client_auth.h"
#include "net/tls13_client_hello.h"
#include "net/tls13_key_schedule.h"
#include "net/tls13_server_setup.h"
#include "net/tls13_session_store.h"
#include "net/tls_handoff.h"

namespace portcullis::net::tls13 {

class ServerHandshake {
 public:
  enum class Step { NeedInput, Done, Failed };

  /// Starts the handshake for `client_hello` (the whole handshake message, as framed by
  /// frame_client_hello). nullptr when this hello is left to OpenSSL (`why` says why); otherwise
  /// output() holds the first flight, or an alert when the hello is refused (step() == Failed).
  static std::unique_ptr<ServerHandshake> start(const ServerSetup& setup, Bytes client_hello,
                                                std::string* why = nullptr);
  ~ServerHandshake();
  ServerHandshake(const ServerHandshake&) = delete;
  ServerHandshake& operator=(const ServerHandshake&) = delete;

  Step step() const { return step_; }
  /// Bytes to send: the first flight, or an alert once failed. The caller sends them and clears
  /// the vector.
  std::vector<std::uint8_t>& output() { return out_; }
  /// Processes the whole records at the front of `input` and erases them. Once Done, the bytes
  /// left in `input` follow the client's Finished: they belong to the record layer.
  Step receive(std::vector<std::uint8_t>& input);

  // ---- after Done ---------------------------------------------------------------------------
  /// The application traffic keys (once).
  RecordProtection take_protection();
  /// The NewSessionTicket message to seal first with them (empty when none is issued): see
  /// RecordChannel::seal_before_next_record.
  std::vector<std::uint8_t> take_ticket() { return std::move(ticket_); }
  bool resumed() const { return resumed_; }
  /// The suite's name as OpenSSL gives it ("TLS_AES_128_GCM_SHA256").
  const char* cipher_name() const;

  // ---- after Done or Failed -----------------------------------------------------------------
  /// The client-certificate verdict (nullptr when none was asked for or none was reached). A
  /// good verdict appears only once the client's CertificateVerify has been checked.
  const std::shared_ptr<const pki::Verdict>& verdict() const { return verdict_; }
  /// The client's leaf certificate, if it sent one.
  X509* leaf() const { return leaf_.get(); }
  /// True when the handshake was refused for the client's certificate chain (require_handshake).
  bool certificate_refused() const { return certificate_refused_; }
  /// Why it failed: an OpenSSL-style SSL error (the reasons OpenSSL's path reports for the same
  /// refusal), a peer's alert, or a record error (net/record_channel.h's category).
  boost::system::error_code error() const { return error_; }

 private:
  struct Keys;
  enum class Expect { Certificate, CertificateVerify, Finished, Nothing };

  ServerHandshake(const ServerSetup& setup);
  bool begin(const ClientHello& hello, Bytes message, std::string* why);
  bool build_first_flight(const ClientHello& hello, Bytes message, Bytes peer_share);
  Step handle_message(std::uint8_t type, Bytes message);
  Step on_certificate(Bytes body, Bytes message);
  Step on_certificate_verify(Bytes body, Bytes message);
  Step on_finished(Bytes body, Bytes message);
  bool issue_ticket();
  /// True when the chain just verified may go into the parsed-chain cache.
  bool cacheable(std::size_t list_size) const;
  /// Wipes the secrets and frees the buffers (done, or failed with the alert sealed).
  void release();
  /// Fails with `alert` sent to the peer (encrypted once the handshake keys exist).
  Step fail(std::uint8_t alert, boost::system::error_code error = {});
  Step fail_for_peer_alert(std::uint8_t description);

  const ServerSetup& setup_;
  std::unique_ptr<Keys> keys_;
  Step step_ = Step::NeedInput;
  Expect expect_ = Expect::Finished;
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> messages_;  ///< handshake bytes opened but not yet processed
  std::vector<std::uint8_t> ticket_;    ///< NewSessionTicket, not yet sealed
  bool ccs_seen_ = false;
  bool request_certificate_ = false;
  bool client_psk_dhe_ = false;                        ///< the client can resume with psk_dhe_ke
  std::chrono::steady_clock::time_point established_;  ///< of the resumed session's full one
  bool resumed_ = false;
  bool certificate_refused_ = false;
  std::uint16_t suite_ = 0;
  std::shared_ptr<const pki::Verdict> verdict_;
  std::shared_ptr<const pki::Verdict> pending_verdict_;  ///< good, until the CertificateVerify
  SharedX509 leaf_;
  std::vector<SharedX509> presented_;  ///< the client's chain, leaf first
  boost::system::error_code error_;
};

}  // namespace portcullis::net::tls13

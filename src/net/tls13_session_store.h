// The listener's TLS 1.3 resumption sessions for the gateway's own server handshake
// (net/tls13_server_handshake.h): stateful tickets. A ticket is a random 32-byte name; the
// session (resumption PSK, cipher suite, the client-certificate verdict and leaf) stays here, so
// nothing is ever encrypted into a ticket or decoded from one. Bounded and expiring. A ticket
// resumes as often as the client offers it within its lifetime, as with OpenSSL's session cache
// the gateway used before (single use, RFC 8446 §8.1, matters for 0-RTT, which is never accepted).
#pragma once

#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "net/tls13_key_schedule.h"
#include "pki/verdict.h"

namespace portcullis::net::tls13 {

/// A leaf certificate shared by a connection and its sessions (X509_free on the last release).
using SharedX509 = std::shared_ptr<X509>;
SharedX509 share_x509(X509* cert);  ///< takes ownership of `cert` (nullptr gives nullptr)

struct ResumableSession {
  Digest psk;                                   ///< the resumption PSK (RFC 8446 §4.6.1)
  std::uint16_t suite = 0;                      ///< the cipher suite it was established with
  std::uint32_t age_add = 0;                    ///< ticket_age_add sent with the ticket
  std::shared_ptr<const pki::Verdict> verdict;  ///< of the handshake that verified the chain
  SharedX509 leaf;  ///< the client's leaf certificate (nullptr when none)
  std::chrono::steady_clock::time_point expires;
  /// When the full handshake behind it verified the chain: a session is not resumed past that
  /// time plus the lifetime, however often it was resumed (each resumption gets a new ticket).
  std::chrono::steady_clock::time_point established;
};

/// Thread-safe (one short lock per call): a listener's workers share one store.
class SessionStore {
 public:
  static constexpr std::size_t kTicketSize = 32;
  using Ticket = std::array<std::uint8_t, kTicketSize>;

  SessionStore(std::size_t capacity, std::chrono::seconds lifetime);

  std::chrono::seconds lifetime() const { return lifetime_; }
  /// Stores `session` (its expiry set from the lifetime) under a new random ticket; nullopt
  /// when no random ticket could be drawn. The oldest session goes when the store is full.
  std::optional<Ticket> insert(ResumableSession session);
  /// The session of `ticket` (a copy): nullopt when unknown, expired, or its full handshake is
  /// older than the lifetime (such a session is removed).
  std::optional<ResumableSession> find(std::span<const std::uint8_t> ticket);
  std::size_t size() const;

 private:
  std::size_t capacity_;
  std::chrono::seconds lifetime_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ResumableSession> sessions_;
  std::deque<std::string> order_;  ///< insertion order, for eviction (may name removed tickets)
};

}  // namespace portcullis::net::tls13

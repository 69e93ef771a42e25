// What a TLS listener's context serves the gateway's own TLS 1.3 handshake with
// (net/tls13_server_handshake.h): a ServerSetup attached to the SSL_CTX when its key allows it
// (ECDSA P-256), holding the certificate chain, the client authentication, the resumption
// sessions and the cache of parsed client chains; and the suite choice, read from the context.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "net/client_auth.h"
#include "net/tls13_session_store.h"
#include "net/tls13_wire.h"

namespace portcullis::net::tls13 {

/// Client chains already parsed, by the SHA-256 of their Certificate message's certificate list:
/// a client that reconnects with the same chain skips decoding it (two certificates' DER cost
/// about as much as a signature). Parsing depends on the bytes alone, so a hit is the same
/// result; the verdict still comes from the verdict cache or the verification engine.
/// Direct-mapped and bounded (a colliding chain replaces the older); thread-safe.
class ParsedChains {
 public:
  static constexpr std::size_t kSlots = 256;
  using Key = std::array<std::uint8_t, 32>;
  static Key key_of(Bytes certificate_list);
  /// The certificates of `key` (leaf first), or an empty vector.
  std::vector<SharedX509> find(const Key& key) const;
  void insert(const Key& key, std::vector<SharedX509> chain);

 private:
  struct Slot {
    Key key{};
    std::vector<SharedX509> chain;
  };
  mutable std::mutex mutex_;
  std::array<Slot, kSlots> slots_;
};

/// What one server context serves with: built from the SSL_CTX when the own handshake is
/// enabled on it, shared read-only by the workers (the session store locks itself).
struct ServerSetup {
  ServerSetup() = default;
  ~ServerSetup();
  ServerSetup(const ServerSetup&) = delete;
  ServerSetup& operator=(const ServerSetup&) = delete;

  std::vector<std::vector<std::uint8_t>> chain;  ///< DER, leaf first
  EVP_PKEY* key = nullptr;                       ///< the leaf's key (ECDSA P-256), owned
  const SSL_CTX* ctx = nullptr;                  ///< the context it is attached to
  const ClientAuth* auth = nullptr;              ///< set by install_client_auth
  std::vector<std::uint8_t> ca_names;            ///< certificate_authorities body (empty: not sent)
  bool issue_tickets = true;
  std::unique_ptr<SessionStore> sessions;
  mutable ParsedChains parsed_chains;
};

/// Whether server contexts use the own handshake: on unless the environment says
/// PORTCULLIS_TLS_HANDSHAKE=openssl (every handshake then goes through OpenSSL).
bool own_handshake_enabled();

/// Attaches a ServerSetup to `ctx` when its certificate and key allow it (ECDSA P-256, TLS 1.3
/// not disabled, a suite the record layer supports); false, with `why`, when they do not (the
/// context then serves every connection through OpenSSL). Call once the context is configured.
bool enable_own_handshake(SSL_CTX* ctx, std::string* why = nullptr);

/// Tells the own handshake of `ctx` which client authentication to perform (install_client_auth
/// calls it after setting the verify mode and CA names). SECURITY: a context that asks for client
/// certificates but has no ClientAuth here is never served by the own handshake.
void set_own_handshake_client_auth(SSL_CTX* ctx, const ClientAuth& auth);

/// The setup attached to `ctx`, or nullptr.
const ServerSetup* server_setup(const SSL_CTX* ctx);

/// Whether the context allows TLS 1.3 (its maximum version and options); read per handshake too,
/// so a context restricted after its setup was made is honoured.
bool tls13_enabled(const SSL_CTX* ctx);

/// The first TLS 1.3 suite of the context's list (its preference, as
/// SSL_OP_CIPHER_SERVER_PREFERENCE makes OpenSSL choose) that `offered` has and the record layer
/// supports; 0 when none. Read per handshake, so SSL_CTX_set_ciphersuites applies as it does to
/// OpenSSL's handshakes.
std::uint16_t choose_suite(const SSL_CTX* ctx, std::span<const std::uint16_t> offered);

}  // namespace portcullis::net::tls13

// The keys that sign identity assertions: the current ES256 key and the rotated-out keys still
// published until every assertion they signed has expired. Readers take an immutable snapshot
// (one atomic load); rotation happens lazily, by whichever caller first sees it is due.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "authn/jwt_keys.h"
#include "authn/jwt_signer.h"
#include "core/result.h"

namespace portcullis::authn {

using TimePoint = std::chrono::system_clock::time_point;

/// The RFC 7638 thumbprint of a public JWK: base64url(SHA-256) of its required members (EC: crv,
/// kty, x, y; RSA: e, kty, n; OKP: crv, kty, x) in lexicographic order without whitespace.
/// Error for another kty or a missing member.
core::Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

/// One signing key of the ring.
struct RingKey {
  std::string kid;     ///< the RFC 7638 thumbprint of the public key
  SigningKey key;      ///< the EC P-256 private key
  nlohmann::json jwk;  ///< the public JWK: kty, crv, x, y, kid, alg ES256, use sig
  TimePoint created;   ///< when it became the current key
  TimePoint published_until = TimePoint::max();  ///< retired keys: removal from the JWKS
};

/// What a reader sees: immutable, shared by every thread that loaded it.
struct RingSnapshot {
  std::shared_ptr<const RingKey> current;               ///< signs new assertions
  std::vector<std::shared_ptr<const RingKey>> retired;  ///< still published, newest first
  nlohmann::json jwks;                                  ///< {"keys": [current, retired...]}
  std::shared_ptr<const KeySet> key_set;                ///< the same keys, for verification
  TimePoint next_change = TimePoint::max();             ///< next rotation or removal
};

/// The key ring. Thread-safe: snapshot() is one atomic load on the hot path; the mutex is only
/// taken by the one caller that performs a due rotation (others keep using the old snapshot,
/// whose key stays published for the overlap, so what they sign still verifies).
class AssertionKeyRing {
 public:
  /// A ring of generated P-256 keys: a new key every `rotate`, a retired key published for
  /// `overlap` after its retirement (at least the longest assertion ttl).
  static core::Result<std::unique_ptr<AssertionKeyRing>> generated(std::chrono::milliseconds rotate,
                                                                   std::chrono::seconds overlap,
                                                                   TimePoint now);

  /// A ring holding one given key forever (a key file). Error unless it is an EC P-256 private
  /// key. `source` names the key in errors.
  static core::Result<std::unique_ptr<AssertionKeyRing>> fixed(std::shared_ptr<EVP_PKEY> key,
                                                               const std::string& source,
                                                               TimePoint now);

  /// The ring as of `now`: rotates first when a rotation or a removal is due. Never throws: when
  /// a new key cannot be generated the current one goes on signing (and a retry is scheduled).
  std::shared_ptr<const RingSnapshot> snapshot(TimePoint now) const;

 private:
  AssertionKeyRing(std::chrono::milliseconds rotate, std::chrono::seconds overlap);
  std::shared_ptr<const RingSnapshot> maintain(std::shared_ptr<const RingSnapshot> old,
                                               TimePoint now) const;

  std::chrono::milliseconds rotate_;  ///< 0 = never
  std::chrono::seconds overlap_;
  mutable std::atomic<std::shared_ptr<const RingSnapshot>> snapshot_;
  mutable std::mutex rotating_;
};

}  // namespace portcullis::authn

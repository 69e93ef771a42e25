// JSON Web Keys (RFC 7517/7518/8037) → OpenSSL keys: the immutable KeySet a JwtAuthenticator
// verifies against. RSA (≥ 2048 bits), EC P-256/P-384/P-521, OKP Ed25519 and oct (HMAC secrets).
// Loading is control plane (Result with a specific error); lookups are data plane and lock-free.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "core/result.h"

namespace portcullis::authn {

/// The JWK `kty` families that can verify a JWS.
enum class KeyType { Rsa, Ec, Okp, Oct };

/// "RSA", "EC", "OKP" or "oct" (the JWK spelling).
std::string_view key_type_name(KeyType type);

/// RSA keys shorter than this are refused at load.
inline constexpr int kMinRsaBits = 2048;

/// oct (HMAC) secrets shorter than this are refused at load (RFC 7518 §3.2: at least the hash
/// size; 32 bytes is the HS256 minimum).
inline constexpr std::size_t kMinHmacSecretBytes = 32;

/// One verification key.
struct Jwk {
  std::optional<std::string> kid;  ///< `kid`, absent for keys without one
  KeyType type = KeyType::Rsa;
  std::string curve;               ///< "P-256", "P-384", "P-521", "Ed25519"; empty for RSA and oct
  std::string alg;                 ///< the JWK's own `alg` restriction, empty when it has none
  int bits = 0;                    ///< RSA modulus / EC field / oct secret size in bits
  std::shared_ptr<EVP_PKEY> pkey;  ///< RSA, EC, OKP public key (nullptr for oct)
  std::string secret;              ///< oct only: the HMAC secret (wiped on destruction)

  Jwk() = default;
  Jwk(const Jwk&) = default;
  Jwk(Jwk&&) noexcept = default;
  Jwk& operator=(const Jwk&) = default;
  Jwk& operator=(Jwk&&) noexcept = default;
  ~Jwk();

  /// "kid \"abc\" (RSA 2048)" or "key #2 without kid (EC P-256)", for details and logs.
  std::string describe() const;
};

/// An immutable set of verification keys, shared by the authenticators that use it and replaced
/// whole on refresh (JwtAuthenticator::set_keys).
class KeySet {
 public:
  /// Parses a JWKS document (`{"keys": [...]}`) or a single JWK object. `source_name` (a file
  /// name or URL) prefixes every error and warning. Fails on: invalid JSON, a document that is
  /// neither, a key without `kty`, an unsupported `kty` or `crv`, missing or invalid members,
  /// RSA below 2048 bits, an EC point not on its curve, an oct secret below 256 bits, two keys
  /// with the same `kid` and `kty`, and a set with no signature key. Keys marked for encryption
  /// (`use` other than "sig", or `key_ops` without "verify") are skipped with a warning.
  static core::Result<std::shared_ptr<const KeySet>> from_jwks_json(std::string_view json,
                                                                    std::string source_name);

  /// Where the keys came from (as given to from_jwks_json).
  const std::string& source() const { return source_; }

  /// Every loaded key, in document order.
  std::span<const Jwk> keys() const { return keys_; }

  /// The keys whose `kid` is exactly `kid` (at most one per key type).
  std::vector<const Jwk*> find(std::string_view kid) const;

  /// The keys that have no `kid`.
  std::vector<const Jwk*> keys_without_kid() const;

  /// Load-time remarks that are not errors (skipped encryption keys, private members ignored).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  KeySet() = default;

  std::string source_;
  std::vector<Jwk> keys_;
  std::vector<std::string> warnings_;
};

}  // namespace portcullis::authn

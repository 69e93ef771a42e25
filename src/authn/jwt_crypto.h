// JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1) on AWS-LC's EVP: which key can verify
// which `alg`, and the verification itself. Pure functions, safe from any thread.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "authn/jwt_keys.h"

namespace portcullis::authn {

/// Every JWS algorithm this verifier implements. `none` is deliberately absent.
enum class JwsAlg {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA,
};

/// The SHA-2 digest of an algorithm (nullptr for EdDSA, which hashes internally).
const EVP_MD* digest_of(JwsAlg alg);

/// The algorithm named `name` (case-sensitive, as RFC 7515 requires); nullopt when unsupported.
std::optional<JwsAlg> parse_jws_alg(std::string_view name);

/// The JOSE name ("RS256", "EdDSA", ...).
std::string_view jws_alg_name(JwsAlg alg);

/// All supported algorithms, in enum order.
std::span<const JwsAlg> supported_jws_algs();

/// true for HS256/384/512 (a shared secret, not a public key).
bool is_hmac(JwsAlg alg);

/// The key type an algorithm needs (Oct for HMAC).
KeyType required_key_type(JwsAlg alg);

/// Why `key` cannot verify `alg` ("ES256 needs an EC P-256 key; kid \"k\" is EC P-384"), or
/// nullopt when it can: the key type and curve fit, an oct secret is at least the hash size, and
/// the key's own `alg` (when set) is `alg`.
std::optional<std::string> key_mismatch(JwsAlg alg, const Jwk& key);

/// true when `signature` (the raw JWS signature bytes) is a valid `alg` signature by `key` over
/// `signing_input`. false for any failure, including a key that does not fit (key_mismatch) and an
/// ECDSA signature that is not exactly R||S of the curve size. Never throws; leaves the OpenSSL
/// error queue empty.
bool verify_jws_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                          std::string_view signature);

}  // namespace portcullis::authn

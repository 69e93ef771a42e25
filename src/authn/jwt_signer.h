// Issuing compact JWS tokens (RFC 7515/7518/8037) and publishing the public half of a key as a
// JWK: the counterpart of jwt_verifier.h for `portcullis demo`, the test-token tool, benchmarks,
// tests, and the gateway's signed identity assertion (assertion_signer.h, ES256 only).
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "core/result.h"

namespace portcullis::authn {

/// What a token is signed with: a private key (RSA, EC, Ed25519) for RS*/PS*/ES*/EdDSA, or a
/// shared secret for HS*. Aggregate: `SigningKey{key, {}}` or `SigningKey{nullptr, secret}`.
struct SigningKey {
  std::shared_ptr<EVP_PKEY> key;  ///< the private key (public-key algorithms)
  std::string secret;             ///< the HMAC secret (HS256/384/512)
};

/// How an ECDSA signature is encoded. JOSE (RFC 7518 §3.4) is R||S at the curve size; DER is the
/// X.509 encoding that verifiers must refuse (tests and the token tool produce it on purpose).
enum class EcdsaEncoding { Jose, Der };

/// A fresh RSA key pair of `bits` bits (tests may ask for fewer than kMinRsaBits on purpose).
core::Result<std::shared_ptr<EVP_PKEY>> generate_rsa_key(int bits = 2048);

/// A fresh EC key pair on `curve`: "P-256", "P-384" or "P-521".
core::Result<std::shared_ptr<EVP_PKEY>> generate_ec_key(std::string_view curve);

/// A fresh Ed25519 key pair.
core::Result<std::shared_ptr<EVP_PKEY>> generate_ed25519_key();

/// A fresh key pair that can sign `alg`: RSA 2048 for RS*/PS*, the alg's curve for ES*, Ed25519
/// for EdDSA. HS* has no key pair: an error (use random_secret).
core::Result<std::shared_ptr<EVP_PKEY>> generate_signing_key(JwsAlg alg);

/// `bytes` bytes from the OpenSSL CSPRNG (an HMAC secret).
core::Result<std::string> random_secret(std::size_t bytes);

/// The public JWK of `key`: RSA (`n`, `e`), EC (`crv`, `x`, `y` at full coordinate length) or
/// OKP Ed25519 (`x`). Adds `kid` and `alg` when not empty; never a private member. Error for
/// any other key type.
core::Result<nlohmann::json> public_jwk(EVP_PKEY* key, std::string_view kid,
                                        std::string_view alg = {});

/// The `oct` JWK of an HMAC secret (`k`), with `kid` and `alg` when not empty. It contains the
/// secret: a JWKS with it is as confidential as the secret.
nlohmann::json secret_jwk(std::string_view secret, std::string_view kid, std::string_view alg = {});

/// `{"keys": [...]}`.
nlohmann::json make_jwks(std::vector<nlohmann::json> keys);

/// The SubjectPublicKeyInfo PEM of `key` ("-----BEGIN PUBLIC KEY-----").
std::string public_key_pem(EVP_PKEY* key);

/// The raw JWS signature of `signing_input` under `alg` (a JOSE name: "RS256", "EdDSA", ...).
/// The key is not checked against `alg` beyond what OpenSSL refuses: callers may sign with a
/// mismatched key on purpose. Errors: an unsupported alg (including "none"), no key / no secret,
/// an OpenSSL failure (with the OpenSSL reason).
core::Result<std::string> sign_jws_signature(std::string_view alg, const SigningKey& key,
                                             std::string_view signing_input,
                                             EcdsaEncoding ecdsa = EcdsaEncoding::Jose);

/// A compact JWS of `header` (serialised as given: its "alg" need not be `alg`) and the raw
/// `payload` bytes, signed with `alg`.
core::Result<std::string> sign_compact_jws(const nlohmann::json& header, std::string_view payload,
                                           std::string_view alg, const SigningKey& key,
                                           EcdsaEncoding ecdsa = EcdsaEncoding::Jose);

/// A JWT: sign_compact_jws with the claims set serialised as JSON.
core::Result<std::string> sign_jwt(const nlohmann::json& header, const nlohmann::json& claims,
                                   std::string_view alg, const SigningKey& key);

/// The usual JWT header: `{"alg": alg, "typ": "JWT"}` plus `kid` when not empty.
nlohmann::json jwt_header(std::string_view alg, std::string_view kid);

}  // namespace portcullis::authn

// The JWT unit tests' view of authn/jwt_signer.h: the same signer, with failures thrown (a test
// that cannot make its token must stop, not test something else) and the short names the tests
// were written with.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_signer.h"
#include "authn/jwt_token.h"
#include "core/result.h"

namespace portcullis::authn::jwt_testing {

using nlohmann::json;
using Pkey = std::shared_ptr<EVP_PKEY>;
/// What a test token is signed with: a private key, or an HMAC secret.
using Signer = SigningKey;

template <typename T>
T must(core::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().to_string());
  return std::move(*r);
}

inline Pkey generate_rsa(unsigned bits = 2048) {
  return must(generate_rsa_key(static_cast<int>(bits)));
}
/// `curve`: "P-256", "P-384", "P-521".
inline Pkey generate_ec(const char* curve) {
  return must(generate_ec_key(curve));
}
inline Pkey generate_ed25519() {
  return must(generate_ed25519_key());
}

/// The public JWK of `key` (RSA, EC or Ed25519), with `kid` unless empty.
inline json public_jwk(EVP_PKEY* key, std::string_view kid) {
  return must(authn::public_jwk(key, kid));
}

/// The oct JWK of an HMAC secret.
inline json secret_jwk(std::string_view secret, std::string_view kid) {
  return authn::secret_jwk(secret, kid);
}

/// The SubjectPublicKeyInfo PEM of a key (the alg-confusion "secret").
inline std::string public_pem(EVP_PKEY* key) {
  return public_key_pem(key);
}

/// The raw JWS signature of `input` under `alg` (ECDSA as JOSE R||S; `der_ecdsa` leaves DER).
inline std::string sign_bytes(std::string_view alg, const Signer& signer, std::string_view input,
                              bool der_ecdsa = false) {
  return must(
      sign_jws_signature(alg, signer, input, der_ecdsa ? EcdsaEncoding::Der : EcdsaEncoding::Jose));
}

/// A compact JWS of `header` and `claims` (both serialised as given), signed with `alg` (which
/// need not be header["alg"]: tests lie on purpose).
inline std::string sign_token(const json& header, const json& claims, std::string_view alg,
                              const Signer& signer) {
  return must(sign_jwt(header, claims, alg, signer));
}

/// A compact JWS with a raw payload (not necessarily JSON).
inline std::string sign_raw(const json& header, std::string_view payload, std::string_view alg,
                            const Signer& signer) {
  return must(sign_compact_jws(header, payload, alg, signer));
}

}  // namespace portcullis::authn::jwt_testing

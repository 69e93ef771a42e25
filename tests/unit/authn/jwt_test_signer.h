// Test-only JWS signer for the JWT unit tests: in-test key generation (EVP_PKEY_Q_keygen), JWK
// export of the public halves, and compact-token signing for every supported algorithm.
// The gateway never signs tokens; this lives in tests only.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_token.h"

namespace portcullis::authn::jwt_testing {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

inline Pkey own(EVP_PKEY* p) {
  if (p == nullptr) throw std::runtime_error("key generation failed");
  return Pkey(p, PkeyFree{});
}

inline Pkey generate_rsa(unsigned bits = 2048) {
  return own(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
/// `curve` is an OpenSSL group name: "P-256", "P-384", "P-521".
inline Pkey generate_ec(const char* curve) {
  return own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}
inline Pkey generate_ed25519() {
  return own(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

inline std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no BN param");
  std::string out(static_cast<size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

/// The public JWK of `key` (RSA, EC or Ed25519), with `kid` unless empty.
inline json public_jwk(EVP_PKEY* key, std::string_view kid) {
  json jwk;
  if (EVP_PKEY_is_a(key, "RSA")) {
    jwk["kty"] = "RSA";
    jwk["n"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E));
  } else if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
    const std::string g = group;
    const int size = g == "prime256v1" ? 32 : g == "secp384r1" ? 48 : 66;
    jwk["kty"] = "EC";
    jwk["crv"] = size == 32 ? "P-256" : size == 48 ? "P-384" : "P-521";
    jwk["x"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, size));
    jwk["y"] = base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, size));
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(key, raw, &len);
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = base64url_encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  if (!kid.empty()) jwk["kid"] = kid;
  return jwk;
}

/// The oct JWK of an HMAC secret.
inline json secret_jwk(std::string_view secret, std::string_view kid) {
  json jwk{{"kty", "oct"}, {"k", base64url_encode(secret)}};
  if (!kid.empty()) jwk["kid"] = kid;
  return jwk;
}

/// The SubjectPublicKeyInfo PEM of a key (the alg-confusion "secret").
inline std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline const EVP_MD* test_digest(std::string_view alg) {
  if (alg.ends_with("256")) return EVP_sha256();
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return nullptr;  // EdDSA
}

/// What a test token is signed with: a private key, or an HMAC secret.
struct Signer {
  Pkey key;
  std::string secret;
};

/// The raw JWS signature of `input` under `alg` (ECDSA as JOSE R||S; `der_ecdsa` leaves DER).
inline std::string sign_bytes(std::string_view alg, const Signer& signer, std::string_view input,
                              bool der_ecdsa = false) {
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (alg.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(test_digest(alg), signer.secret.data(), static_cast<int>(signer.secret.size()), data,
         input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx, &pctx, test_digest(alg), nullptr, signer.key.get()) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("EVP_DigestSignInit failed");
  }
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, data, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg.starts_with("ES") && !der_ecdsa) {
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ec = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    const int n = alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
    std::string raw(static_cast<size_t>(2 * n), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(ec), out, n);
    BN_bn2binpad(ECDSA_SIG_get0_s(ec), out + n, n);
    ECDSA_SIG_free(ec);
    return raw;
  }
  return sig;
}

/// A compact JWS of `header` and `claims` (both serialised as given), signed with `alg` (which
/// need not be header["alg"]: tests lie on purpose).
inline std::string sign_token(const json& header, const json& claims, std::string_view alg,
                              const Signer& signer) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(sign_bytes(alg, signer, input));
}

/// A compact JWS with a raw payload (not necessarily JSON).
inline std::string sign_raw(const json& header, std::string_view payload, std::string_view alg,
                            const Signer& signer) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(sign_bytes(alg, signer, input));
}

}  // namespace portcullis::authn::jwt_testing

// JWS signing with AWS-LC's EVP (the mirror of jwt_crypto.cpp): RSASSA-PKCS1-v1_5, RSASSA-PSS
// (salt = digest length), ECDSA (DER from OpenSSL, converted to JOSE R||S), Ed25519, HMAC-SHA2,
// and public JWK export.
#include "authn/jwt_signer.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <utility>

#include <fmt/format.h>

#include "authn/jwt_token.h"
#include "pki/openssl_ptr.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;

std::shared_ptr<EVP_PKEY> shared_key(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

core::Result<std::shared_ptr<EVP_PKEY>> generated(EVP_PKEY* key, std::string_view what) {
  if (key == nullptr) {
    return core::fail(fmt::format("generating a {} key failed: {}", what, pki::openssl_errors()));
  }
  return shared_key(key);
}

// Bytes per ECDSA coordinate (R and S) of an ES* algorithm.
int ecdsa_size(JwsAlg alg) {
  return alg == JwsAlg::ES256 ? 32 : alg == JwsAlg::ES384 ? 48 : 66;
}

bool is_rsa_pss(JwsAlg alg) {
  return alg == JwsAlg::PS256 || alg == JwsAlg::PS384 || alg == JwsAlg::PS512;
}

bool is_ecdsa(JwsAlg alg) {
  return alg == JwsAlg::ES256 || alg == JwsAlg::ES384 || alg == JwsAlg::ES512;
}

// A big-number parameter of a key (`name` for the error), big-endian and minimal.
core::Result<std::string> bn_param(const BIGNUM* bn, const char* name) {
  if (bn == nullptr) return core::fail(fmt::format("the key has no {} parameter", name));
  std::string out(BN_num_bytes(bn), '\0');
  if (BN_bn2bin_padded(reinterpret_cast<uint8_t*>(out.data()), out.size(), bn) != 1) {
    return core::fail(fmt::format("the {} parameter is too large", name));
  }
  return out;
}

// A fresh key pair of type `id` (EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519), after `configure`
// has set the type's parameters on the generation context; nullptr on failure (reasons queued).
template <class Configure>
EVP_PKEY* keygen(int id, Configure configure) {
  pki::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(id, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || !configure(ctx.get()) ||
      EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return nullptr;
  }
  return key;
}

void add_kid_alg(json& jwk, std::string_view kid, std::string_view alg) {
  if (!kid.empty()) jwk["kid"] = kid;
  if (!alg.empty()) jwk["alg"] = alg;
}

// DER ECDSA-Sig-Value -> JOSE R||S of `n` bytes each.
core::Result<std::string> der_to_jose(std::string_view der, int n) {
  ECDSA_SIG* sig = ECDSA_SIG_from_bytes(reinterpret_cast<const uint8_t*>(der.data()), der.size());
  if (sig == nullptr)
    return core::fail("the crypto library produced an unreadable ECDSA signature");
  const auto size = static_cast<std::size_t>(n);
  std::string raw(2 * size, '\0');
  auto* out = reinterpret_cast<uint8_t*>(raw.data());
  const bool ok = BN_bn2bin_padded(out, size, ECDSA_SIG_get0_r(sig)) == 1 &&
                  BN_bn2bin_padded(out + size, size, ECDSA_SIG_get0_s(sig)) == 1;
  ECDSA_SIG_free(sig);
  if (!ok) return core::fail("the ECDSA signature does not fit the algorithm's curve size");
  return raw;
}

}  // namespace

core::Result<std::shared_ptr<EVP_PKEY>> generate_rsa_key(int bits) {
  if (bits < 512 || bits > 16384) return core::fail(fmt::format("RSA key size {} refused", bits));
  return generated(keygen(EVP_PKEY_RSA,
                          [bits](EVP_PKEY_CTX* ctx) {
                            return EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1;
                          }),
                   "RSA");
}

core::Result<std::shared_ptr<EVP_PKEY>> generate_ec_key(std::string_view curve) {
  const int group = curve == "P-256"   ? NID_X9_62_prime256v1
                    : curve == "P-384" ? NID_secp384r1
                    : curve == "P-521" ? NID_secp521r1
                                       : NID_undef;
  if (group == NID_undef) {
    return core::fail(fmt::format("unsupported EC curve \"{}\" (P-256, P-384, P-521)", curve));
  }
  return generated(keygen(EVP_PKEY_EC,
                          [group](EVP_PKEY_CTX* ctx) {
                            return EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, group) == 1;
                          }),
                   std::string(curve));
}

core::Result<std::shared_ptr<EVP_PKEY>> generate_ed25519_key() {
  return generated(keygen(EVP_PKEY_ED25519, [](EVP_PKEY_CTX*) { return true; }), "Ed25519");
}

core::Result<std::shared_ptr<EVP_PKEY>> generate_signing_key(JwsAlg alg) {
  if (is_hmac(alg)) {
    return core::fail(fmt::format("{} uses a shared secret, not a key pair", jws_alg_name(alg)));
  }
  switch (required_key_type(alg)) {
    case KeyType::Rsa:
      return generate_rsa_key(2048);
    case KeyType::Ec:
      return generate_ec_key(alg == JwsAlg::ES256   ? "P-256"
                             : alg == JwsAlg::ES384 ? "P-384"
                                                    : "P-521");
    case KeyType::Okp:
      return generate_ed25519_key();
    case KeyType::Oct:
      break;
  }
  return core::fail(fmt::format("no key pair for {}", jws_alg_name(alg)));
}

core::Result<std::string> random_secret(std::size_t bytes) {
  std::string out(bytes, '\0');
  if (bytes > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(bytes)) != 1) {
    return core::fail("the random generator failed: " + pki::openssl_errors());
  }
  return out;
}

core::Result<json> public_jwk(EVP_PKEY* key, std::string_view kid, std::string_view alg) {
  if (key == nullptr) return core::fail("no key");
  json jwk;
  const int id = EVP_PKEY_id(key);
  if (id == EVP_PKEY_RSA) {
    const RSA* rsa = EVP_PKEY_get0_RSA(key);
    auto n = bn_param(rsa != nullptr ? RSA_get0_n(rsa) : nullptr, "n");
    if (!n) return std::unexpected(n.error());
    auto e = bn_param(rsa != nullptr ? RSA_get0_e(rsa) : nullptr, "e");
    if (!e) return std::unexpected(e.error());
    jwk["kty"] = "RSA";
    jwk["n"] = base64url_encode(*n);
    jwk["e"] = base64url_encode(*e);
  } else if (id == EVP_PKEY_EC) {
    const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
    const EC_GROUP* group = ec != nullptr ? EC_KEY_get0_group(ec) : nullptr;
    const int nid = group != nullptr ? EC_GROUP_get_curve_name(group) : NID_undef;
    const char* short_name = OBJ_nid2sn(nid);
    if (nid == NID_undef || short_name == nullptr) {
      return core::fail("the EC key has no curve name");
    }
    const char* crv = nid == NID_X9_62_prime256v1 ? "P-256"
                      : nid == NID_secp384r1      ? "P-384"
                      : nid == NID_secp521r1      ? "P-521"
                                                  : nullptr;
    // The short name is OpenSSL's group name ("secp256k1"), the text this error always had.
    if (crv == nullptr) return core::fail(fmt::format("EC curve {} has no JWK name", short_name));
    const std::size_t size = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 66;
    // The uncompressed point 04 || x || y, whose halves are the JWK's x and y.
    unsigned char* point = nullptr;
    const std::size_t point_len =
        EC_KEY_key2buf(ec, POINT_CONVERSION_UNCOMPRESSED, &point, nullptr);
    const std::string encoded =
        point != nullptr ? std::string(reinterpret_cast<const char*>(point), point_len) : "";
    OPENSSL_free(point);
    if (encoded.size() != 1 + 2 * size || encoded[0] != '\x04') {
      return core::fail("the EC public key could not be read as an uncompressed point");
    }
    jwk["kty"] = "EC";
    jwk["crv"] = crv;
    jwk["x"] = base64url_encode(std::string_view(encoded).substr(1, size));
    jwk["y"] = base64url_encode(std::string_view(encoded).substr(1 + size, size));
  } else if (id == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) {
      return core::fail("the Ed25519 public key could not be read");
    }
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), len));
  } else {
    return core::fail("only RSA, EC and Ed25519 keys have a public JWK here");
  }
  add_kid_alg(jwk, kid, alg);
  return jwk;
}

json secret_jwk(std::string_view secret, std::string_view kid, std::string_view alg) {
  json jwk{{"kty", "oct"}, {"k", base64url_encode(secret)}};
  add_kid_alg(jwk, kid, alg);
  return jwk;
}

json make_jwks(std::vector<json> keys) {
  return json{{"keys", json(std::move(keys))}};
}

std::string public_key_pem(EVP_PKEY* key) {
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

core::Result<std::string> sign_jws_signature(std::string_view alg_name, const SigningKey& key,
                                             std::string_view signing_input, EcdsaEncoding ecdsa) {
  const auto alg = parse_jws_alg(alg_name);
  if (!alg) return core::fail(fmt::format("\"{}\" is not a signature algorithm", alg_name));
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (is_hmac(*alg)) {
    if (key.secret.empty()) return core::fail(fmt::format("{} needs a secret", alg_name));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(digest_of(*alg), key.secret.data(), static_cast<int>(key.secret.size()), data,
             signing_input.size(), mac, &len) == nullptr) {
      return core::fail("HMAC failed: " + pki::openssl_errors());
    }
    return std::string(reinterpret_cast<const char*>(mac), len);
  }
  if (!key.key) return core::fail(fmt::format("{} needs a private key", alg_name));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, digest_of(*alg), nullptr, key.key.get()) != 1) {
    return core::fail(fmt::format("{}: the key cannot sign: {}", alg_name, pki::openssl_errors()));
  }
  if (is_rsa_pss(*alg)) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return core::fail(
          fmt::format("{}: PSS padding refused: {}", alg_name, pki::openssl_errors()));
    }
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, signing_input.size()) != 1) {
    return core::fail(fmt::format("{}: signing failed: {}", alg_name, pki::openssl_errors()));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     signing_input.size()) != 1) {
    return core::fail(fmt::format("{}: signing failed: {}", alg_name, pki::openssl_errors()));
  }
  sig.resize(len);
  if (is_ecdsa(*alg) && ecdsa == EcdsaEncoding::Jose) return der_to_jose(sig, ecdsa_size(*alg));
  return sig;
}

core::Result<std::string> sign_compact_jws(const json& header, std::string_view payload,
                                           std::string_view alg, const SigningKey& key,
                                           EcdsaEncoding ecdsa) {
  std::string token = base64url_encode(header.dump()) + "." + base64url_encode(payload);
  auto signature = sign_jws_signature(alg, key, token, ecdsa);
  if (!signature) return std::unexpected(signature.error());
  token += '.';
  token += base64url_encode(*signature);
  return token;
}

core::Result<std::string> sign_jwt(const json& header, const json& claims, std::string_view alg,
                                   const SigningKey& key) {
  return sign_compact_jws(header, claims.dump(), alg, key);
}

json jwt_header(std::string_view alg, std::string_view kid) {
  json header{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  return header;
}

}  // namespace portcullis::authn

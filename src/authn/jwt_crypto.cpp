// JWS signature verification with AWS-LC's EVP: RSASSA-PKCS1-v1_5, RSASSA-PSS (salt = digest
// length, MGF1 with the same digest), ECDSA (JOSE R||S converted to DER), Ed25519, HMAC-SHA2.
#include "authn/jwt_crypto.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

struct AlgInfo {
  JwsAlg alg;
  std::string_view name;
};

constexpr std::array<AlgInfo, 13> kAlgs{{
    {JwsAlg::HS256, "HS256"},
    {JwsAlg::HS384, "HS384"},
    {JwsAlg::HS512, "HS512"},
    {JwsAlg::RS256, "RS256"},
    {JwsAlg::RS384, "RS384"},
    {JwsAlg::RS512, "RS512"},
    {JwsAlg::PS256, "PS256"},
    {JwsAlg::PS384, "PS384"},
    {JwsAlg::PS512, "PS512"},
    {JwsAlg::ES256, "ES256"},
    {JwsAlg::ES384, "ES384"},
    {JwsAlg::ES512, "ES512"},
    {JwsAlg::EdDSA, "EdDSA"},
}};

constexpr std::array<JwsAlg, 13> kAllAlgs{
    JwsAlg::HS256, JwsAlg::HS384, JwsAlg::HS512, JwsAlg::RS256, JwsAlg::RS384,
    JwsAlg::RS512, JwsAlg::PS256, JwsAlg::PS384, JwsAlg::PS512, JwsAlg::ES256,
    JwsAlg::ES384, JwsAlg::ES512, JwsAlg::EdDSA};

// The curve an ECDSA/EdDSA algorithm needs ("" for the others).
std::string_view curve_of(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::ES256:
      return "P-256";
    case JwsAlg::ES384:
      return "P-384";
    case JwsAlg::ES512:
      return "P-521";
    case JwsAlg::EdDSA:
      return "Ed25519";
    default:
      return {};
  }
}

// Bytes of one ECDSA coordinate (R or S) in the JOSE signature.
std::size_t ecdsa_coordinate_bytes(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::ES256:
      return 32;
    case JwsAlg::ES384:
      return 48;
    case JwsAlg::ES512:
      return 66;
    default:
      return 0;
  }
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};

bool verify_hmac(JwsAlg alg, const Jwk& key, std::string_view input, std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(digest_of(alg), key.secret.data(), static_cast<int>(key.secret.size()), bytes(input),
           input.size(), mac.data(), &mac_len) == nullptr) {
    return false;
  }
  // SECURITY: full-length MACs only (no truncation), compared in constant time.
  if (signature.size() != mac_len) return false;
  const bool ok = CRYPTO_memcmp(mac.data(), signature.data(), mac_len) == 0;
  OPENSSL_cleanse(mac.data(), mac.size());
  return ok;
}

// JOSE ECDSA signatures are R||S, each left-padded to the coordinate size; EVP wants DER.
std::string ecdsa_jose_to_der(JwsAlg alg, std::string_view signature) {
  const std::size_t n = ecdsa_coordinate_bytes(alg);
  // SECURITY: exactly 2n bytes; a DER signature or a truncated one is refused, not guessed at.
  if (n == 0 || signature.size() != 2 * n) return {};
  std::unique_ptr<BIGNUM, BnDeleter> r(BN_bin2bn(bytes(signature), n, nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> s(BN_bin2bn(bytes(signature.substr(n)), n, nullptr));
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return {};
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by sig now
  s.release();
  uint8_t* der = nullptr;
  std::size_t der_len = 0;
  if (ECDSA_SIG_to_bytes(&der, &der_len, sig.get()) != 1) return {};
  std::string out(reinterpret_cast<const char*>(der), der_len);
  OPENSSL_free(der);
  return out;
}

bool verify_asymmetric(JwsAlg alg, const Jwk& key, std::string_view input,
                       std::string_view signature) {
  if (!key.pkey) return false;
  std::string der;
  if (ecdsa_coordinate_bytes(alg) != 0) {
    der = ecdsa_jose_to_der(alg, signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, digest_of(alg), nullptr, key.pkey.get()) != 1) {
    return false;
  }
  switch (alg) {
    case JwsAlg::PS256:
    case JwsAlg::PS384:
    case JwsAlg::PS512:
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_of(alg)) != 1) {
        return false;
      }
      break;
    case JwsAlg::RS256:
    case JwsAlg::RS384:
    case JwsAlg::RS512:
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
      break;
    default:
      break;
  }
  // One-shot: required for Ed25519, equivalent for the others.
  return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(input),
                          input.size()) == 1;
}

}  // namespace

const EVP_MD* digest_of(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::HS256:
    case JwsAlg::RS256:
    case JwsAlg::PS256:
    case JwsAlg::ES256:
      return EVP_sha256();
    case JwsAlg::HS384:
    case JwsAlg::RS384:
    case JwsAlg::PS384:
    case JwsAlg::ES384:
      return EVP_sha384();
    case JwsAlg::HS512:
    case JwsAlg::RS512:
    case JwsAlg::PS512:
    case JwsAlg::ES512:
      return EVP_sha512();
    case JwsAlg::EdDSA:
      return nullptr;
  }
  return nullptr;
}

std::optional<JwsAlg> parse_jws_alg(std::string_view name) {
  for (const auto& info : kAlgs) {
    if (info.name == name) return info.alg;
  }
  return std::nullopt;
}

std::string_view jws_alg_name(JwsAlg alg) {
  for (const auto& info : kAlgs) {
    if (info.alg == alg) return info.name;
  }
  return "?";
}

std::span<const JwsAlg> supported_jws_algs() {
  return kAllAlgs;
}

bool is_hmac(JwsAlg alg) {
  return alg == JwsAlg::HS256 || alg == JwsAlg::HS384 || alg == JwsAlg::HS512;
}

KeyType required_key_type(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::HS256:
    case JwsAlg::HS384:
    case JwsAlg::HS512:
      return KeyType::Oct;
    case JwsAlg::ES256:
    case JwsAlg::ES384:
    case JwsAlg::ES512:
      return KeyType::Ec;
    case JwsAlg::EdDSA:
      return KeyType::Okp;
    default:
      return KeyType::Rsa;
  }
}

std::optional<std::string> key_mismatch(JwsAlg alg, const Jwk& key) {
  const std::string_view name = jws_alg_name(alg);
  const KeyType needed = required_key_type(alg);
  const std::string_view curve = curve_of(alg);
  if (key.type != needed || (!curve.empty() && key.curve != curve)) {
    // RSA, EC and OKP all take "an".
    const std::string need =
        needed == KeyType::Oct ? fmt::format("{} needs a shared secret (an oct key)", name)
                               : fmt::format("{} needs an {}{}{} key", name, key_type_name(needed),
                                             curve.empty() ? "" : " ", curve);
    return fmt::format("{}; {} is not one", need, key.describe());
  }
  if (needed == KeyType::Oct) {
    const std::size_t hash_bytes = EVP_MD_size(digest_of(alg));
    if (key.secret.size() < hash_bytes) {
      return fmt::format("{} needs a secret of at least {} bits; {} has {}", name, hash_bytes * 8,
                         key.describe(), key.secret.size() * 8);
    }
  }
  if (!key.alg.empty() && key.alg != name) {
    return fmt::format("{} is restricted to alg {}", key.describe(), key.alg);
  }
  return std::nullopt;
}

bool verify_jws_signature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                          std::string_view signature) {
  // SECURITY: the key decides what it may verify; an HMAC alg never sees an RSA/EC/OKP key's
  // bytes as a secret (the classic alg-confusion forgery), an asymmetric alg never an oct key.
  if (key_mismatch(alg, key)) return false;
  const bool ok = is_hmac(alg) ? verify_hmac(alg, key, signing_input, signature)
                               : verify_asymmetric(alg, key, signing_input, signature);
  ERR_clear_error();  // a bad signature leaves reasons on the thread's queue: not ours to keep
  return ok;
}

}  // namespace portcullis::authn

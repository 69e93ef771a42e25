// X25519 through EVP raw keys; ECDSA through the key's EC_KEY and the low-level digests (a
// handshake's signature and the client's verification without an EVP_MD_CTX or a provider
// fetch); the other schemes through EVP_DigestVerify.
#define OPENSSL_SUPPRESS_DEPRECATED  // EC_KEY / ECDSA_do_*: no EVP context per signature
#include "net/tls13_crypto.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

namespace portcullis::net::tls13 {

bool x25519(Bytes peer, std::array<std::uint8_t, kX25519Size>& ours, Digest& shared) {
  std::array<std::uint8_t, kX25519Size> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) return false;
  EVP_PKEY* priv =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), secret.size());
  OPENSSL_cleanse(secret.data(), secret.size());
  EVP_PKEY* pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size());
  EVP_PKEY_CTX* ctx = priv ? EVP_PKEY_CTX_new_from_pkey(nullptr, priv, nullptr) : nullptr;
  std::size_t our_size = ours.size();
  std::size_t shared_size = kX25519Size;
  const bool ok =
      priv != nullptr && pub != nullptr && ctx != nullptr &&
      EVP_PKEY_get_raw_public_key(priv, ours.data(), &our_size) == 1 && our_size == ours.size() &&
      EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pub) == 1 &&
      EVP_PKEY_derive(ctx, shared.bytes.data(), &shared_size) == 1 && shared_size == kX25519Size;
  shared.size = ok ? shared_size : 0;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pub);
  EVP_PKEY_free(priv);
  ERR_clear_error();
  return ok;
}

bool sign_p256(EVP_PKEY* key, Bytes content, std::vector<std::uint8_t>& signature) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(content.data(), content.size(), digest.data());
  auto* ec = const_cast<EC_KEY*>(EVP_PKEY_get0_EC_KEY(key));
  ECDSA_SIG* sig = ec ? ECDSA_do_sign(digest.data(), static_cast<int>(digest.size()), ec) : nullptr;
  if (sig == nullptr) return false;
  const int n = i2d_ECDSA_SIG(sig, nullptr);
  bool ok = n > 0;
  if (ok) {
    signature.resize(static_cast<std::size_t>(n));
    unsigned char* p = signature.data();
    ok = i2d_ECDSA_SIG(sig, &p) == n;
  }
  ECDSA_SIG_free(sig);
  return ok;
}

int ec_curve(const EVP_PKEY* key) {
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  const EC_GROUP* group = ec ? EC_KEY_get0_group(ec) : nullptr;
  return group ? EC_GROUP_get_curve_name(group) : NID_undef;
}

SignatureCheck verify_signature(EVP_PKEY* key, std::uint16_t scheme, Bytes content,
                                Bytes signature) {
  const int type = EVP_PKEY_get_base_id(key);
  if (scheme == kEcdsaP256Sha256 || scheme == kEcdsaP384Sha384 || scheme == kEcdsaP521Sha512) {
    const int curve = scheme == kEcdsaP256Sha256   ? NID_X9_62_prime256v1
                      : scheme == kEcdsaP384Sha384 ? NID_secp384r1
                                                   : NID_secp521r1;
    if (type != EVP_PKEY_EC || ec_curve(key) != curve) return SignatureCheck::WrongScheme;
    std::array<std::uint8_t, SHA512_DIGEST_LENGTH> digest{};
    std::size_t size = 0;
    if (scheme == kEcdsaP256Sha256) {
      SHA256(content.data(), content.size(), digest.data());
      size = SHA256_DIGEST_LENGTH;
    } else if (scheme == kEcdsaP384Sha384) {
      SHA384(content.data(), content.size(), digest.data());
      size = SHA384_DIGEST_LENGTH;
    } else {
      SHA512(content.data(), content.size(), digest.data());
      size = SHA512_DIGEST_LENGTH;
    }
    const unsigned char* p = signature.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
    // SECURITY: the DER must be the whole signature (no trailing bytes to play with).
    const bool whole = sig != nullptr && p == signature.data() + signature.size();
    auto* ec = const_cast<EC_KEY*>(EVP_PKEY_get0_EC_KEY(key));
    const bool ok = whole && ec != nullptr &&
                    ECDSA_do_verify(digest.data(), static_cast<int>(size), sig, ec) == 1;
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok ? SignatureCheck::Verified : SignatureCheck::Bad;
  }
  const EVP_MD* md = nullptr;
  bool pss = false;
  if (scheme == kEd25519 || scheme == kEd448) {
    if (type != (scheme == kEd25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448)) {
      return SignatureCheck::WrongScheme;
    }
  } else if ((scheme >= kRsaPssRsaeSha256 && scheme <= kRsaPssRsaeSha512) ||
             (scheme >= kRsaPssPssSha256 && scheme <= kRsaPssPssSha512)) {
    const bool rsae = scheme <= kRsaPssRsaeSha512;
    if (type != (rsae ? EVP_PKEY_RSA : EVP_PKEY_RSA_PSS)) return SignatureCheck::WrongScheme;
    const int step = (scheme & 0xff) - (rsae ? 0x04 : 0x09);
    md = step == 0 ? EVP_sha256() : step == 1 ? EVP_sha384() : EVP_sha512();
    pss = true;
  } else {
    // PKCS#1 v1.5 and anything else: never for a TLS 1.3 CertificateVerify.
    return SignatureCheck::WrongScheme;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, signature.data(), signature.size(), content.data(),
                              content.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok ? SignatureCheck::Verified : SignatureCheck::Bad;
}

}  // namespace portcullis::net::tls13

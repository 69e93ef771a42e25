// The own handshake's public-key operations against OpenSSL's EVP layer doing the other side:
// X25519 agreement (and refusal of a share that yields the all-zero secret), our ECDSA P-256
// signature, and the CertificateVerify check for every scheme family with the scheme/key
// mismatches TLS 1.3 forbids.
#include "net/tls13_crypto.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <vector>

namespace portcullis::net::tls13 {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

const std::vector<std::uint8_t> kContent = [] {
  std::vector<std::uint8_t> v(64, 0x20);
  const std::string context = "TLS 1.3, client CertificateVerify";
  v.insert(v.end(), context.begin(), context.end());
  v.push_back(0);
  v.resize(v.size() + 32, 0xab);
  return v;
}();

/// A signature by `key` over `content` with EVP (`md` nullptr for EdDSA; PSS when `pss`).
std::vector<std::uint8_t> evp_sign(EVP_PKEY* key, const EVP_MD* md, bool pss,
                                   const std::vector<std::uint8_t>& content) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestSignInit(ctx, &pctx, md, nullptr, key), 1);
  if (pss) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
  }
  std::size_t n = 0;
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &n, content.data(), content.size()), 1);
  std::vector<std::uint8_t> sig(n);
  EXPECT_EQ(EVP_DigestSign(ctx, sig.data(), &n, content.data(), content.size()), 1);
  sig.resize(n);
  EVP_MD_CTX_free(ctx);
  return sig;
}

TEST(Tls13Crypto, X25519AgreesWithThePeer) {
  Pkey peer(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  ASSERT_TRUE(peer);
  std::array<std::uint8_t, kX25519Size> peer_public{};
  std::size_t n = peer_public.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(peer.get(), peer_public.data(), &n), 1);
  std::array<std::uint8_t, kX25519Size> ours{};
  Digest shared;
  ASSERT_TRUE(x25519(peer_public, ours, shared));
  ASSERT_EQ(shared.size, kX25519Size);
  // The peer derives the same secret from our share.
  Pkey our_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, ours.data(), ours.size()));
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(peer.get(), nullptr);
  std::array<std::uint8_t, kX25519Size> theirs{};
  std::size_t size = theirs.size();
  ASSERT_EQ(EVP_PKEY_derive_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx, our_key.get()), 1);
  ASSERT_EQ(EVP_PKEY_derive(ctx, theirs.data(), &size), 1);
  EVP_PKEY_CTX_free(ctx);
  EXPECT_EQ(std::vector(theirs.begin(), theirs.end()),
            std::vector(shared.bytes.begin(), shared.bytes.begin() + 32));
  // A fresh key each time.
  std::array<std::uint8_t, kX25519Size> again{};
  Digest shared_again;
  ASSERT_TRUE(x25519(peer_public, again, shared_again));
  EXPECT_NE(ours, again);
}

TEST(Tls13Crypto, X25519RefusesShareThatGivesTheZeroSecret) {
  // u = 0 and u = 1 are of small order: the shared secret would be all zeros (RFC 7748 §6.1).
  for (std::uint8_t u : {0, 1}) {
    std::array<std::uint8_t, kX25519Size> share{};
    share[0] = u;
    std::array<std::uint8_t, kX25519Size> ours{};
    Digest shared;
    EXPECT_FALSE(x25519(share, ours, shared)) << int{u};
  }
  std::array<std::uint8_t, kX25519Size> ours{};
  Digest shared;
  const std::array<std::uint8_t, 31> short_share{};
  EXPECT_FALSE(x25519(short_share, ours, shared));
}

TEST(Tls13Crypto, OurP256SignatureVerifies) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", SN_X9_62_prime256v1));
  ASSERT_TRUE(key);
  std::vector<std::uint8_t> sig;
  ASSERT_TRUE(sign_p256(key.get(), kContent, sig));
  EXPECT_EQ(verify_signature(key.get(), kEcdsaP256Sha256, kContent, sig), SignatureCheck::Verified);
  auto other = kContent;
  other.back() ^= 1;
  EXPECT_EQ(verify_signature(key.get(), kEcdsaP256Sha256, other, sig), SignatureCheck::Bad);
  // Trailing bytes after the DER signature are refused.
  auto longer = sig;
  longer.push_back(0);
  EXPECT_EQ(verify_signature(key.get(), kEcdsaP256Sha256, kContent, longer), SignatureCheck::Bad);
  EXPECT_EQ(ec_curve(key.get()), NID_X9_62_prime256v1);
}

TEST(Tls13Crypto, EcdsaSchemesMustMatchTheCurve) {
  Pkey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", SN_secp384r1));
  const auto sig = evp_sign(p384.get(), EVP_sha384(), false, kContent);
  EXPECT_EQ(verify_signature(p384.get(), kEcdsaP384Sha384, kContent, sig),
            SignatureCheck::Verified);
  EXPECT_EQ(verify_signature(p384.get(), kEcdsaP256Sha256, kContent, sig),
            SignatureCheck::WrongScheme);
  EXPECT_EQ(verify_signature(p384.get(), kEcdsaP521Sha512, kContent, sig),
            SignatureCheck::WrongScheme);
}

TEST(Tls13Crypto, RsaPssAndItsForbiddenPkcs1) {
  Pkey rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  ASSERT_TRUE(rsa);
  for (const auto& [scheme, md] :
       {std::pair{kRsaPssRsaeSha256, EVP_sha256()}, std::pair{std::uint16_t{0x0805}, EVP_sha384()},
        std::pair{kRsaPssRsaeSha512, EVP_sha512()}}) {
    const auto sig = evp_sign(rsa.get(), md, true, kContent);
    EXPECT_EQ(verify_signature(rsa.get(), scheme, kContent, sig), SignatureCheck::Verified);
    // rsa_pss_pss_* is for RSASSA-PSS keys only.
    EXPECT_EQ(verify_signature(rsa.get(), scheme + 5, kContent, sig), SignatureCheck::WrongScheme);
  }
  const auto pkcs1 = evp_sign(rsa.get(), EVP_sha256(), false, kContent);
  EXPECT_EQ(verify_signature(rsa.get(), 0x0401, kContent, pkcs1), SignatureCheck::WrongScheme);
  EXPECT_EQ(verify_signature(rsa.get(), kEcdsaP256Sha256, kContent, pkcs1),
            SignatureCheck::WrongScheme);
  const auto sig = evp_sign(rsa.get(), EVP_sha256(), true, kContent);
  auto other = kContent;
  other[0] ^= 1;
  EXPECT_EQ(verify_signature(rsa.get(), kRsaPssRsaeSha256, other, sig), SignatureCheck::Bad);
  EXPECT_EQ(ec_curve(rsa.get()), NID_undef);
}

TEST(Tls13Crypto, Ed25519) {
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed);
  const auto sig = evp_sign(ed.get(), nullptr, false, kContent);
  EXPECT_EQ(verify_signature(ed.get(), kEd25519, kContent, sig), SignatureCheck::Verified);
  EXPECT_EQ(verify_signature(ed.get(), kEd448, kContent, sig), SignatureCheck::WrongScheme);
  auto other = kContent;
  other[1] ^= 1;
  EXPECT_EQ(verify_signature(ed.get(), kEd25519, other, sig), SignatureCheck::Bad);
}

}  // namespace
}  // namespace portcullis::net::tls13

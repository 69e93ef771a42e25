// The public-key functions of the built-in EC method (pki/ec_public_keys.h): decoding and encoding
// round-trip on every curve, compressed points and explicit parameters; bad points fail; equal
// keys compare equal; the printout names the curve; and the cache shares one EC_KEY between
// certificates with the same key without ever mixing two keys up. The functions are called
// directly in both modes; with PORTCULLIS_EC_KEYS=builtin, OpenSSL's own decoding goes through
// them too, which the last tests check.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pki/ec_public_keys.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <thread>
#include <vector>

#include "../common/ec_keys_mode.h"
#include "pki/cert_builder.h"

namespace portcullis::pki {
namespace {

using Bytes = std::vector<unsigned char>;
using portcullis::testing::builtin_ec_keys_requested;

EvpPkeyPtr new_key(const char* curve) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

/// The key's SubjectPublicKeyInfo as OpenSSL writes it.
Bytes spki_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  Bytes out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  return out;
}

/// A SubjectPublicKeyInfo with the curve's OID and these point bytes.
Bytes spki_with_point(int curve, const Bytes& point) {
  X509_PUBKEY* pub = X509_PUBKEY_new();
  unsigned char* copy = static_cast<unsigned char*>(OPENSSL_memdup(point.data(), point.size()));
  X509_PUBKEY_set0_param(pub, OBJ_nid2obj(EVP_PKEY_EC), V_ASN1_OBJECT, OBJ_nid2obj(curve), copy,
                         static_cast<int>(point.size()));
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(pub, &der);
  Bytes out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  X509_PUBKEY_free(pub);
  return out;
}

/// Runs ec_public::decode on `spki`; nullptr when it refuses.
EvpPkeyPtr decoded(const Bytes& spki) {
  const unsigned char* p = spki.data();
  X509_PUBKEY* pub = d2i_X509_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  if (pub == nullptr) return nullptr;
  EvpPkeyPtr key(EVP_PKEY_new());
  const bool ok = ec_public::decode(key.get(), pub) == 1;
  X509_PUBKEY_free(pub);
  return ok ? std::move(key) : nullptr;
}

/// ec_public::encode's SubjectPublicKeyInfo for `key`.
Bytes encoded(const EVP_PKEY* key) {
  X509_PUBKEY* pub = X509_PUBKEY_new();
  Bytes out;
  if (ec_public::encode(pub, key) == 1) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(pub, &der);
    out.assign(der, der + (len > 0 ? len : 0));
    OPENSSL_free(der);
  }
  X509_PUBKEY_free(pub);
  return out;
}

const EC_KEY* ec_of(EVP_PKEY* key) {
  return EVP_PKEY_get0_EC_KEY(key);
}

TEST(EcPublicKeys, DecodeAndEncodeRoundTripOnEveryCurve) {
  for (const char* curve : {SN_X9_62_prime256v1, SN_secp384r1, SN_secp521r1}) {
    SCOPED_TRACE(curve);
    EvpPkeyPtr original = new_key(curve);
    ASSERT_TRUE(original);
    const Bytes spki = spki_of(original.get());
    EvpPkeyPtr key = decoded(spki);
    ASSERT_TRUE(key);
    EXPECT_EQ(encoded(key.get()), spki);
    EXPECT_EQ(ec_public::compare(key.get(), original.get()), 1);
    EXPECT_EQ(ec_public::bits(key.get()), EVP_PKEY_get_bits(original.get()));
    EXPECT_EQ(ec_public::signature_size(key.get()), EVP_PKEY_get_size(original.get()));
  }
}

TEST(EcPublicKeys, CompressedPointsKeepTheirForm) {
  EvpPkeyPtr original = new_key(SN_X9_62_prime256v1);
  const EC_KEY* ec = ec_of(original.get());
  unsigned char* point = nullptr;
  const std::size_t len = EC_POINT_point2buf(EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec),
                                             POINT_CONVERSION_COMPRESSED, &point, nullptr);
  ASSERT_EQ(len, 33u);
  const Bytes spki = spki_with_point(NID_X9_62_prime256v1, Bytes(point, point + len));
  OPENSSL_free(point);
  EvpPkeyPtr key = decoded(spki);
  ASSERT_TRUE(key);
  EXPECT_EQ(EC_KEY_get_conv_form(ec_of(key.get())), POINT_CONVERSION_COMPRESSED);
  EXPECT_EQ(encoded(key.get()), spki);
  EXPECT_EQ(ec_public::compare(key.get(), original.get()), 1);
}

TEST(EcPublicKeys, ExplicitParametersDecodeAndEncode) {
  EvpPkeyPtr original = new_key(SN_X9_62_prime256v1);
  EC_KEY* ec = EC_KEY_dup(ec_of(original.get()));
  ASSERT_NE(ec, nullptr);
  EC_KEY_set_asn1_flag(ec, OPENSSL_EC_EXPLICIT_CURVE);
  EvpPkeyPtr explicit_key(EVP_PKEY_new());
  ASSERT_EQ(EVP_PKEY_assign_EC_KEY(explicit_key.get(), ec), 1);
  const Bytes spki = encoded(explicit_key.get());
  ASSERT_FALSE(spki.empty());
  EXPECT_NE(spki, spki_of(original.get()));  // parameters spelled out, not an OID

  const ec_public::CacheStats before = ec_public::cache_stats();
  EvpPkeyPtr key = decoded(spki);
  ASSERT_TRUE(key);
  EXPECT_EQ(ec_public::compare(key.get(), original.get()), 1);
  EXPECT_EQ(encoded(key.get()), spki);
  const ec_public::CacheStats after = ec_public::cache_stats();
  EXPECT_EQ(after.hits + after.misses, before.hits + before.misses);  // never cached
}

TEST(EcPublicKeys, PointsOffTheCurveAndUnknownCurvesAreRefused) {
  EvpPkeyPtr original = new_key(SN_X9_62_prime256v1);
  Bytes spki = spki_of(original.get());
  spki.back() ^= 0x01;  // last byte of y: no longer on the curve
  EXPECT_FALSE(decoded(spki));
  EXPECT_FALSE(decoded(spki));  // a refusal is not cached: the same bytes fail again

  const Bytes point = {0x04, 0x01, 0x02};
  EXPECT_FALSE(decoded(spki_with_point(NID_X9_62_prime256v1, point)));
  EXPECT_FALSE(decoded(spki_with_point(NID_sha256, Bytes(65, 0x04))));
}

TEST(EcPublicKeys, DifferentKeysCompareUnequal) {
  EvpPkeyPtr a = decoded(spki_of(new_key(SN_X9_62_prime256v1).get()));
  EvpPkeyPtr b = decoded(spki_of(new_key(SN_X9_62_prime256v1).get()));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(ec_public::compare(a.get(), b.get()), 0);
  EXPECT_EQ(ec_public::compare(a.get(), a.get()), 1);
}

TEST(EcPublicKeys, PrintNamesTheSizePointAndCurve) {
  EvpPkeyPtr key = decoded(spki_of(new_key(SN_secp384r1).get()));
  ASSERT_TRUE(key);
  BIO* out = BIO_new(BIO_s_mem());
  ASSERT_EQ(ec_public::print(out, key.get(), 2, nullptr), 1);
  char* text = nullptr;
  const long len = BIO_get_mem_data(out, &text);
  const std::string printed(text, static_cast<std::size_t>(len));
  BIO_free(out);
  EXPECT_NE(printed.find("  Public-Key: (384 bit)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("pub:"), std::string::npos) << printed;
  EXPECT_NE(printed.find("ASN1 OID: secp384r1"), std::string::npos) << printed;
  EXPECT_NE(printed.find("NIST CURVE: P-384"), std::string::npos) << printed;
}

TEST(EcPublicKeys, TheSameKeySharesOneEcKeyAndOthersDoNot) {
  EvpPkeyPtr original = new_key(SN_X9_62_prime256v1);
  const Bytes spki = spki_of(original.get());
  const ec_public::CacheStats before = ec_public::cache_stats();
  EvpPkeyPtr first = decoded(spki);
  EvpPkeyPtr second = decoded(spki);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(ec_of(first.get()), ec_of(second.get()));
  const ec_public::CacheStats after = ec_public::cache_stats();
  EXPECT_EQ(after.misses, before.misses + 1);
  // At least the second decode hit; in builtin mode d2i_X509_PUBKEY decodes through it as well.
  EXPECT_GE(after.hits, before.hits + 1);

  // Freeing one certificate's key leaves the other's intact.
  first.reset();
  EXPECT_EQ(ec_public::compare(second.get(), original.get()), 1);

  EvpPkeyPtr other = decoded(spki_of(new_key(SN_X9_62_prime256v1).get()));
  ASSERT_TRUE(other);
  EXPECT_NE(ec_of(other.get()), ec_of(second.get()));
  EXPECT_EQ(ec_public::compare(other.get(), original.get()), 0);
}

TEST(EcPublicKeys, TheCacheIsBoundedAndEveryKeyStaysItself) {
  // More distinct keys than slots: each decodes to itself, the cache never outgrows its slots.
  std::vector<EvpPkeyPtr> originals;
  std::vector<Bytes> spkis;
  for (std::size_t i = 0; i < ec_public::kCacheSlots + 200; ++i) {
    originals.push_back(new_key(SN_X9_62_prime256v1));
    spkis.push_back(spki_of(originals.back().get()));
  }
  for (std::size_t i = 0; i < spkis.size(); ++i) {
    EvpPkeyPtr key = decoded(spkis[i]);
    ASSERT_TRUE(key);
    ASSERT_EQ(ec_public::compare(key.get(), originals[i].get()), 1) << i;
  }
  EXPECT_LE(ec_public::cache_stats().entries, ec_public::kCacheSlots);
  // Decoded again (hits or replacements alike), every key is still its own.
  for (std::size_t i = 0; i < spkis.size(); i += 7) {
    EvpPkeyPtr key = decoded(spkis[i]);
    ASSERT_TRUE(key);
    ASSERT_EQ(ec_public::compare(key.get(), originals[i].get()), 1) << i;
  }
}

TEST(EcPublicKeys, SharedKeysVerifyFromManyThreads) {
  EvpPkeyPtr signer = new_key(SN_X9_62_prime256v1);
  const Bytes spki = spki_of(signer.get());
  const std::string message = "transcript";
  Bytes sig(static_cast<std::size_t>(EVP_PKEY_get_size(signer.get())));
  std::size_t sig_len = sig.size();
  EVP_MD_CTX* sign = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(sign, nullptr, EVP_sha256(), nullptr, signer.get()), 1);
  ASSERT_EQ(EVP_DigestSign(sign, sig.data(), &sig_len,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  EVP_MD_CTX_free(sign);

  std::vector<int> verified(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < verified.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        EvpPkeyPtr key = decoded(spki);
        if (!key) continue;
        EVP_MD_CTX* verify = EVP_MD_CTX_new();
        if (EVP_DigestVerifyInit(verify, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(verify, sig.data(), sig_len,
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1) {
          ++verified[t];
        }
        EVP_MD_CTX_free(verify);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : verified) EXPECT_EQ(count, 50);
}

TEST(EcPublicKeys, OpenSslDecodesCertificateKeysThroughTheCacheInBuiltinMode) {
  EvpPkeyPtr original = new_key(SN_X9_62_prime256v1);
  const Bytes spki = spki_of(original.get());
  auto via_openssl = [&] {
    const unsigned char* p = spki.data();
    return EvpPkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  };
  EvpPkeyPtr first = via_openssl();
  EvpPkeyPtr second = via_openssl();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(EVP_PKEY_eq(first.get(), original.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(first.get()), 256);
  EXPECT_EQ(spki_of(first.get()), spki);
  // Shared only when OpenSSL goes through the built-in method (provider keys have no EC_KEY of
  // their own to share: each get0 is a fresh export).
  const bool shared = EVP_PKEY_get0_provider(first.get()) == nullptr &&
                      EVP_PKEY_get0_EC_KEY(first.get()) == EVP_PKEY_get0_EC_KEY(second.get());
  EXPECT_EQ(shared, builtin_ec_keys_requested());
}

}  // namespace
}  // namespace portcullis::pki

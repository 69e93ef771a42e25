// AeadContext on both paths: the provider's functions called directly must give exactly what
// OpenSSL's EVP layer gives (same ciphertext, same tag, each opens the other's records), refuse
// whatever was tampered with, and match a published AES-GCM answer.
#include "net/record_aead.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace portcullis::net {
namespace {

std::vector<std::uint8_t> counting(std::size_t n, std::uint8_t from) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(from + i);
  return v;
}

struct Sealed {
  std::vector<std::uint8_t> text;
  std::array<std::uint8_t, kAeadTagSize> tag{};
};

class AeadPaths : public ::testing::TestWithParam<RecordAead> {
 protected:
  std::vector<std::uint8_t> key_ = counting(32, 1);
  std::vector<std::uint8_t> nonce_ = counting(kAeadNonceSize, 100);
  std::vector<std::uint8_t> aad_ = {0x17, 0x03, 0x03, 0x01, 0x11};
  std::vector<std::uint8_t> plain_ = counting(257, 7);

  Sealed seal(AeadPath path) {
    AeadContext ctx;
    EXPECT_TRUE(ctx.init(GetParam(), key_.data(), true, path));
    EXPECT_EQ(ctx.uses_provider(), path == AeadPath::Provider);
    Sealed s{plain_, {}};
    EXPECT_TRUE(ctx.seal(nonce_.data(), aad_, s.text.data(), s.text.size(), s.tag.data()));
    return s;
  }

  bool open(AeadPath path, Sealed s, const std::vector<std::uint8_t>& aad,
            const std::vector<std::uint8_t>& nonce) {
    AeadContext ctx;
    EXPECT_TRUE(ctx.init(GetParam(), key_.data(), false, path));
    if (!ctx.open(nonce.data(), aad, s.text.data(), s.text.size(), s.tag.data())) return false;
    EXPECT_EQ(s.text, plain_);
    return true;
  }
};

TEST_P(AeadPaths, TheProviderFunctionsAreFound) {
  EXPECT_TRUE(AeadContext::available(GetParam()));
  EXPECT_TRUE(AeadContext::provider_available(GetParam()));
}

TEST_P(AeadPaths, BothPathsSealAlikeAndOpenEachOther) {
  const Sealed direct = seal(AeadPath::Provider);
  const Sealed evp = seal(AeadPath::Evp);
  EXPECT_NE(direct.text, plain_);
  EXPECT_EQ(direct.text, evp.text);
  EXPECT_EQ(direct.tag, evp.tag);
  EXPECT_TRUE(open(AeadPath::Evp, direct, aad_, nonce_));
  EXPECT_TRUE(open(AeadPath::Provider, evp, aad_, nonce_));
  EXPECT_TRUE(open(AeadPath::Provider, direct, aad_, nonce_));
}

TEST_P(AeadPaths, TamperingFailsOnBothPaths) {
  for (const AeadPath path : {AeadPath::Provider, AeadPath::Evp}) {
    Sealed bad_tag = seal(path);
    bad_tag.tag[3] ^= 0x01;
    EXPECT_FALSE(open(path, bad_tag, aad_, nonce_));
    Sealed bad_text = seal(path);
    bad_text.text[200] ^= 0x80;
    EXPECT_FALSE(open(path, bad_text, aad_, nonce_));
    auto other_aad = aad_;
    other_aad[4] ^= 0x01;
    EXPECT_FALSE(open(path, seal(path), other_aad, nonce_));
    auto other_nonce = nonce_;
    other_nonce[11] ^= 0x01;
    EXPECT_FALSE(open(path, seal(path), aad_, other_nonce));
  }
}

TEST_P(AeadPaths, AContextSealsOrOpensOnlyInItsDirection) {
  for (const AeadPath path : {AeadPath::Provider, AeadPath::Evp}) {
    AeadContext opener;
    ASSERT_TRUE(opener.init(GetParam(), key_.data(), false, path));
    Sealed s{plain_, {}};
    EXPECT_FALSE(opener.seal(nonce_.data(), aad_, s.text.data(), s.text.size(), s.tag.data()));
    AeadContext empty;
    EXPECT_FALSE(empty.open(nonce_.data(), aad_, s.text.data(), s.text.size(), s.tag.data()));
  }
}

TEST_P(AeadPaths, ManyRecordsOnOneContext) {
  for (const AeadPath path : {AeadPath::Provider, AeadPath::Evp}) {
    AeadContext sealer;
    AeadContext opener;
    ASSERT_TRUE(sealer.init(GetParam(), key_.data(), true, path));
    ASSERT_TRUE(opener.init(GetParam(), key_.data(), false, path));
    for (std::uint8_t i = 0; i < 20; ++i) {
      auto nonce = nonce_;
      nonce[11] = i;
      auto text = counting(i * 13u + 1u, i);
      const auto plain = text;
      std::array<std::uint8_t, kAeadTagSize> tag{};
      ASSERT_TRUE(sealer.seal(nonce.data(), aad_, text.data(), text.size(), tag.data()));
      ASSERT_TRUE(opener.open(nonce.data(), aad_, text.data(), text.size(), tag.data()));
      EXPECT_EQ(text, plain);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Aeads, AeadPaths,
                         ::testing::Values(RecordAead::Aes128Gcm, RecordAead::Aes256Gcm,
                                           RecordAead::ChaCha20Poly1305));

// McGrew and Viega, "The Galois/Counter Mode of Operation", test case 2: a zero key, a zero IV
// and one zero block, no additional data.
TEST(AeadKnownAnswer, AesGcmTestCase2OnBothPaths) {
  const std::array<std::uint8_t, 16> key{};
  const std::array<std::uint8_t, kAeadNonceSize> iv{};
  const std::vector<std::uint8_t> expected_text = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92,
                                                   0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78};
  const std::array<std::uint8_t, kAeadTagSize> expected_tag = {0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec,
                                                               0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2,
                                                               0x12, 0x57, 0xbd, 0xdf};
  for (const AeadPath path : {AeadPath::Provider, AeadPath::Evp}) {
    AeadContext ctx;
    ASSERT_TRUE(ctx.init(RecordAead::Aes128Gcm, key.data(), true, path));
    std::vector<std::uint8_t> text(16, 0);
    std::array<std::uint8_t, kAeadTagSize> tag{};
    ASSERT_TRUE(ctx.seal(iv.data(), {}, text.data(), text.size(), tag.data()));
    EXPECT_EQ(text, expected_text);
    EXPECT_EQ(tag, expected_tag);
  }
}

}  // namespace
}  // namespace portcullis::net

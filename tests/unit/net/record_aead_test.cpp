// AeadContext on both paths: the provider's functions called directly must give exactly what
// OpenSSL's EVP layer gives (same ciphertext, same tag, each opens the other's records), refuse
// whatever was tampered with, and match a published AES-GCM answer.
#include "net/record_aead.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
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

std::vector<std::uint8_t> hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out.push_back(
        static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

/// Seals `plain` on both paths and compares with a published answer: the ciphertext's first
/// `expected_text.size()` bytes and the whole tag.
void expect_known_answer(RecordAead aead, const std::vector<std::uint8_t>& key,
                         const std::vector<std::uint8_t>& nonce,
                         const std::vector<std::uint8_t>& aad, std::vector<std::uint8_t> plain,
                         const std::vector<std::uint8_t>& expected_text,
                         const std::vector<std::uint8_t>& expected_tag) {
  for (const AeadPath path : {AeadPath::Provider, AeadPath::Evp}) {
    AeadContext ctx;
    ASSERT_TRUE(ctx.init(aead, key.data(), true, path));
    auto text = plain;
    std::array<std::uint8_t, kAeadTagSize> tag{};
    ASSERT_TRUE(ctx.seal(nonce.data(), aad, text.data(), text.size(), tag.data()));
    EXPECT_EQ(std::vector<std::uint8_t>(text.begin(), text.begin() + expected_text.size()),
              expected_text);
    EXPECT_EQ(std::vector<std::uint8_t>(tag.begin(), tag.end()), expected_tag);
  }
}

// McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 2 and 14: a zero key,
// a zero IV and one zero block, no additional data.
TEST(AeadKnownAnswer, AesGcmTestCases2And14) {
  expect_known_answer(RecordAead::Aes128Gcm, std::vector<std::uint8_t>(16, 0),
                      std::vector<std::uint8_t>(12, 0), {}, std::vector<std::uint8_t>(16, 0),
                      hex("0388dace60b6a392f328c2b971b2fe78"),
                      hex("ab6e47d42cec13bdf53a67b21257bddf"));
  expect_known_answer(RecordAead::Aes256Gcm, std::vector<std::uint8_t>(32, 0),
                      std::vector<std::uint8_t>(12, 0), {}, std::vector<std::uint8_t>(16, 0),
                      hex("cea7403d4d606b6e074ec5d3baf39d18"),
                      hex("d0d1c8a799996bf0265b98b5d48ab919"));
}

// RFC 8439 section 2.8.2: the AEAD_CHACHA20_POLY1305 example (first 16 ciphertext bytes and
// the tag, which covers all of it).
TEST(AeadKnownAnswer, ChaCha20Poly1305Rfc8439) {
  const std::string_view sunscreen =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  expect_known_answer(RecordAead::ChaCha20Poly1305, counting(32, 0x80),
                      hex("070000004041424344454647"), hex("50515253c0c1c2c3c4c5c6c7"),
                      std::vector<std::uint8_t>(sunscreen.begin(), sunscreen.end()),
                      hex("d31a8d34648e60db7b86afbc53ef7ec2"),
                      hex("1ae10b594f09e26a7e902ecbd0600691"));
}

}  // namespace
}  // namespace portcullis::net

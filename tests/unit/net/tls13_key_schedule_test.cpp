// The TLS 1.3 key schedule primitives (net/tls13_key_schedule.h): the RFC 8448 §3 "Simple 1-RTT
// Handshake" trace (its handshake messages, transcript hashes and every secret of the SHA-256
// schedule through the application traffic secrets), RFC 4231 test case 6 (HMAC with a key
// longer than the block), and SHA-384 and multi-block outputs computed with Python's hmac and
// hashlib. Then differentially against OpenSSL itself: HKDF-Expand-Label against its TLS13-KDF,
// HMAC against EVP_Q_mac, Transcript against one-shot hashes; and the limits of the encodings.
#include "net/tls13_key_schedule.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <string>
#include <vector>

#include "../common/hex.h"

namespace portcullis::net::tls13 {
namespace {

using portcullis::testing::hex;

std::vector<std::uint8_t> unhex(std::string_view text) {
  const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  }
  return out;
}

std::vector<std::uint8_t> counting(std::size_t n, std::uint8_t start = 0) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(start + i);
  return v;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 8448 §3, the handshake messages as they enter the transcript.
const std::string_view kClientHello =
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302"
    "010000910000000b0009000006736572766572ff01000100000a00140012001d001700180019010001010102010301"
    "04"
    "00230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c00"
    "2b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d000201"
    "01001c00024001";
const std::string_view kServerHello =
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e269280013010000"
    "2e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b0002030"
    "4";
const std::string_view kEncryptedExtensions =
    "080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000";
const std::string_view kCertificate =
    "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c30"
    "0a06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e310c"
    "300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4bb498f8279"
    "303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c"
    "7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8ca9d9efbf"
    "ae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d13040230"
    "00300b0603551d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b9276b908c65f73a72"
    "67170618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd"
    "335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3"
    "eac9d91d402dcc0cc8f8961229ac9187b42b4de10000";
const std::string_view kCertificateVerify =
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2"
    "d33a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46"
    "445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3";
const std::string_view kServerFinished =
    "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718";
const std::string_view kEcdheSharedSecret =
    "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";

constexpr auto kSha256 = HashAlg::Sha256;
constexpr auto kSha384 = HashAlg::Sha384;

/// HKDF-Expand-Label into a fresh buffer of n bytes, as hex ("refused" when it fails).
std::string expand_label(HashAlg alg, std::span<const std::uint8_t> secret, std::string_view label,
                         std::span<const std::uint8_t> context, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (!hkdf_expand_label(alg, secret, label, context, out)) return "refused";
  return hex(out);
}

TEST(Tls13KeySchedule, Rfc8448EarlyAndHandshakeSecrets) {
  const std::array<std::uint8_t, 32> zeros{};
  const Digest early = hkdf_extract(kSha256, {}, zeros);
  EXPECT_EQ(hex(early.view()), "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
  // An empty salt is hash-size zeros.
  EXPECT_EQ(hex(hkdf_extract(kSha256, zeros, zeros).view()), hex(early.view()));

  const Digest empty_hash = hash(kSha256, {});
  EXPECT_EQ(hex(empty_hash.view()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const Digest derived = derive_secret(kSha256, early.view(), "derived", empty_hash.view());
  EXPECT_EQ(hex(derived.view()),
            "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
  const Digest handshake = hkdf_extract(kSha256, derived.view(), unhex(kEcdheSharedSecret));
  EXPECT_EQ(hex(handshake.view()),
            "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
}

TEST(Tls13KeySchedule, Rfc8448HandshakeTrafficSecretsKeysAndServerFinished) {
  const Digest handshake = hkdf_extract(
      kSha256, unhex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"),
      unhex(kEcdheSharedSecret));
  Transcript transcript(kSha256);
  transcript.update(unhex(kClientHello));
  transcript.update(unhex(kServerHello));
  const Digest hello_hash = transcript.current();
  EXPECT_EQ(hex(hello_hash.view()),
            "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8");

  const Digest client = derive_secret(kSha256, handshake.view(), "c hs traffic", hello_hash.view());
  EXPECT_EQ(hex(client.view()), "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
  const Digest server = derive_secret(kSha256, handshake.view(), "s hs traffic", hello_hash.view());
  EXPECT_EQ(hex(server.view()), "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");

  // The record keys and the Finished keys: HKDF-Expand-Label with an empty context.
  EXPECT_EQ(expand_label(kSha256, server.view(), "key", {}, 16),
            "3fce516009c21727d0f2e4e86ee403bc");
  EXPECT_EQ(expand_label(kSha256, server.view(), "iv", {}, 12), "5d313eb2671276ee13000b30");
  EXPECT_EQ(expand_label(kSha256, client.view(), "key", {}, 16),
            "dbfaa693d1762c5b666af5d950258d01");
  EXPECT_EQ(expand_label(kSha256, client.view(), "iv", {}, 12), "5bd3c71b836e0b76bb73265f");
  EXPECT_EQ(expand_label(kSha256, client.view(), "finished", {}, 32),
            "b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4");
  const auto server_finished_key = unhex(expand_label(kSha256, server.view(), "finished", {}, 32));
  EXPECT_EQ(hex(server_finished_key),
            "008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8");

  // The server's Finished: HMAC(finished_key, transcript hash through CertificateVerify).
  transcript.update(unhex(kEncryptedExtensions));
  transcript.update(unhex(kCertificate));
  transcript.update(unhex(kCertificateVerify));
  const Digest through_verify = transcript.current();
  EXPECT_EQ(hex(through_verify.view()),
            "edb7725fa7a3473b031ec8ef65a2485493900138a2b91291407d7951a06110ed");
  EXPECT_EQ(hex(hmac(kSha256, server_finished_key, through_verify.view()).view()),
            "9b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718");
}

TEST(Tls13KeySchedule, Rfc8448MasterAndApplicationSecrets) {
  const auto handshake = unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
  const Digest derived = derive_secret(kSha256, handshake, "derived", hash(kSha256, {}).view());
  EXPECT_EQ(hex(derived.view()),
            "43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4");
  const std::array<std::uint8_t, 32> zeros{};
  const Digest master = hkdf_extract(kSha256, derived.view(), zeros);
  EXPECT_EQ(hex(master.view()), "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919");

  Transcript transcript(kSha256);
  for (auto message : {kClientHello, kServerHello, kEncryptedExtensions, kCertificate,
                       kCertificateVerify, kServerFinished}) {
    transcript.update(unhex(message));
  }
  const Digest through_finished = transcript.current();
  EXPECT_EQ(hex(through_finished.view()),
            "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13");
  EXPECT_EQ(
      hex(derive_secret(kSha256, master.view(), "c ap traffic", through_finished.view()).view()),
      "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
  EXPECT_EQ(
      hex(derive_secret(kSha256, master.view(), "s ap traffic", through_finished.view()).view()),
      "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
  EXPECT_EQ(
      hex(derive_secret(kSha256, master.view(), "exp master", through_finished.view()).view()),
      "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50");
}

// Values from Python's hmac/hashlib (a five-line HKDF); the SHA-384 early secret is also in
// several TLS libraries' tests.
TEST(Tls13KeySchedule, Sha384AndMultiBlockOutputsMatchAnIndependentImplementation) {
  EXPECT_EQ(hex(hash(kSha384, {}).view()),
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2"
            "f14898b95b");
  const std::array<std::uint8_t, 48> zeros{};
  const Digest early = hkdf_extract(kSha384, {}, zeros);
  EXPECT_EQ(hex(early.view()),
            "7ee8206f5570023e6dc7519eb1073bc4e791ad37b5c382aa10ba18e2357e716971f9362f2c2fe2a76bfd78"
            "dfec4ea9b5");
  EXPECT_EQ(hex(derive_secret(kSha384, early.view(), "derived", hash(kSha384, {}).view()).view()),
            "1591dac5cbbf0330a4a84de9c753330e92d01f0a88214b4464972fd668049e93e52f2b16fad922fdc05844"
            "78428f282b");

  const std::array<std::uint8_t, 3> context{1, 2, 3};
  EXPECT_EQ(expand_label(kSha256, counting(32), "c e traffic", context, 100),
            "f59e17503e872c28793e1838904140b7cb4245cf2176e48bf494b73d8361c5375ec0133dd9da548dfa729c"
            "67f8f548ba66ab5aecf82d3b6998d4a0c5e2dabd65d8bebfe5d70f7c3e790ac6e55310b3b36d723a8bc793"
            "a7d958613b17faa6e8934ba950d9");
  EXPECT_EQ(expand_label(kSha384, counting(48), "exp master", counting(48), 100),
            "40fde47f0683ccd43c10c31f09c1455cd553f6e41326d71fd257aeeed935a42e69a9857b61db2ab4652687"
            "556d1d9b7179a9c5b129e3e9e63ba7909ef7dd7389d4d7b5f7481e60913085558159fb5db6f6d385a819c3"
            "4ddfe6778a9e8e8e630ac5378069");
}

TEST(Tls13KeySchedule, HmacRfc4231KeyLongerThanTheBlock) {
  const std::vector<std::uint8_t> key(131, 0xaa);
  const auto message = bytes_of("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(hex(hmac(kSha256, key, message).view()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hex(hmac(kSha384, key, message).view()),
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248d"
            "f163f44952");
}

/// HKDF-Expand-Label by OpenSSL's TLS13-KDF (the one its own TLS 1.3 uses).
std::string openssl_expand_label(HashAlg alg, std::span<const std::uint8_t> secret,
                                 std::string_view label, std::span<const std::uint8_t> context,
                                 std::size_t n) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return "no TLS13-KDF";
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  static constexpr char kPrefix[] = "tls13 ";
  static const std::uint8_t kNothing = 0;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(alg == kSha384 ? "SHA384" : "SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, const_cast<char*>(kPrefix),
                                        sizeof kPrefix - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_DATA,
          const_cast<std::uint8_t*>(context.empty() ? &kNothing : context.data()), context.size()),
      OSSL_PARAM_construct_end()};
  std::vector<std::uint8_t> out(n);
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok ? hex(out) : "OpenSSL failed";
}

TEST(Tls13KeySchedule, ExpandLabelMatchesOpenSslTls13Kdf) {
  const std::vector<std::uint8_t> contexts[] = {
      {}, counting(32, 7), counting(48, 100), counting(255, 3)};
  const std::string_view labels[] = {"key",          "iv",          "finished",
                                     "c hs traffic", "traffic upd", "res binder"};
  for (const auto alg : {kSha256, kSha384}) {
    const auto secret = counting(hash_size(alg), 0x40);
    for (const auto& context : contexts) {
      for (const auto label : labels) {
        for (const std::size_t n : {1, 12, 16, 32, 48, 100}) {
          SCOPED_TRACE(::testing::Message() << "hash " << hash_size(alg) << " label " << label
                                            << " context " << context.size() << " n " << n);
          EXPECT_EQ(expand_label(alg, secret, label, context, n),
                    openssl_expand_label(alg, secret, label, context, n));
        }
      }
    }
  }
}

TEST(Tls13KeySchedule, ExpandLabelMayWriteOverItsSecret) {
  auto secret = counting(32);
  const std::string expected = expand_label(kSha256, secret, "traffic upd", {}, 32);
  EXPECT_EQ(expected, "2cecd0a17506ef5fa73edc062d6e7b5397cf074ec1b4d8f99a120772932f0b45");
  ASSERT_TRUE(hkdf_expand_label(kSha256, secret, "traffic upd", {}, secret));
  EXPECT_EQ(hex(secret), expected);
}

std::string openssl_hmac(HashAlg alg, std::span<const std::uint8_t> key,
                         std::span<const std::uint8_t> message) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> out{};
  std::size_t n = 0;
  static const std::uint8_t kNothing = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, alg == kSha384 ? "SHA384" : "SHA256", nullptr,
                key.empty() ? &kNothing : key.data(), key.size(), message.data(), message.size(),
                out.data(), out.size(), &n) == nullptr) {
    return "OpenSSL failed";
  }
  return hex(std::span(out.data(), n));
}

TEST(Tls13KeySchedule, HmacMatchesOpenSsl) {
  for (const auto alg : {kSha256, kSha384}) {
    // Around both block sizes (64, 128): equal to the block is used as is, one more is hashed.
    for (const std::size_t key_size : {0, 1, 20, 32, 48, 63, 64, 65, 127, 128, 129, 300}) {
      for (const std::size_t message_size : {0, 1, 55, 64, 200}) {
        SCOPED_TRACE(::testing::Message() << "hash " << hash_size(alg) << " key " << key_size
                                          << " message " << message_size);
        const auto key = counting(key_size, 0x80);
        const auto message = counting(message_size, 0x11);
        EXPECT_EQ(hex(hmac(alg, key, message).view()), openssl_hmac(alg, key, message));
      }
    }
  }
}

TEST(Tls13KeySchedule, TranscriptIsTheHashOfEverythingSoFar) {
  for (const auto alg : {kSha256, kSha384}) {
    Transcript transcript(alg);
    EXPECT_EQ(transcript.alg(), alg);
    std::vector<std::uint8_t> all;
    EXPECT_EQ(hex(transcript.current().view()), hex(hash(alg, all).view()));
    for (const std::size_t n : {1, 63, 64, 65, 127, 128, 129, 1000, 0, 4}) {
      const auto message = counting(n, static_cast<std::uint8_t>(all.size()));
      transcript.update(message);
      all.insert(all.end(), message.begin(), message.end());
      const Digest now = transcript.current();
      EXPECT_EQ(now.size, hash_size(alg));
      EXPECT_EQ(hex(now.view()), hex(hash(alg, all).view())) << all.size() << " bytes";
      // Asking again changes nothing.
      EXPECT_EQ(hex(transcript.current().view()), hex(now.view()));
    }
  }
}

TEST(Tls13KeySchedule, EqualSecret) {
  const auto a = counting(32);
  auto b = counting(32);
  EXPECT_TRUE(equal_secret(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(equal_secret(a, b));
  b[31] ^= 1;
  b[0] ^= 0x80;
  EXPECT_FALSE(equal_secret(a, b));
  EXPECT_FALSE(equal_secret(a, std::span(a).first(31)));
  EXPECT_FALSE(equal_secret(std::span(a).first(0), a));
  EXPECT_TRUE(equal_secret({}, {}));
}

TEST(Tls13KeySchedule, ExpandLabelRefusesWhatHkdfLabelCannotEncode) {
  for (const auto alg : {kSha256, kSha384}) {
    const auto secret = counting(hash_size(alg));
    // The label: at most 255 bytes with "tls13 ", so 249.
    const std::string label_249(249, 'a');
    EXPECT_EQ(expand_label(alg, secret, label_249, {}, 32),
              openssl_expand_label(alg, secret, label_249, {}, 32));
    EXPECT_EQ(expand_label(alg, secret, label_249 + "a", {}, 32), "refused");
    // The context: at most 255 bytes.
    EXPECT_NE(expand_label(alg, secret, "key", counting(255), 16), "refused");
    EXPECT_EQ(expand_label(alg, secret, "key", counting(256), 16), "refused");
    // The output: at most 255 blocks of the hash.
    const std::size_t most = 255 * hash_size(alg);
    EXPECT_EQ(expand_label(alg, secret, "exp", {}, most),
              openssl_expand_label(alg, secret, "exp", {}, most));
    EXPECT_EQ(expand_label(alg, secret, "exp", {}, most + 1), "refused");
    // An empty output is no error.
    EXPECT_EQ(expand_label(alg, secret, "key", {}, 0), "");
    // Derive-Secret cannot fail with the RFC's labels; with an impossible one it gives a random
    // secret of the right size, never an empty or fixed one.
    const Digest a = derive_secret(alg, secret, label_249 + "a", {});
    const Digest b = derive_secret(alg, secret, label_249 + "a", {});
    EXPECT_EQ(a.size, hash_size(alg));
    EXPECT_NE(hex(a.view()), hex(b.view()));
  }
}

TEST(Tls13KeySchedule, HashSizes) {
  EXPECT_EQ(hash_size(kSha256), 32u);
  EXPECT_EQ(hash_size(kSha384), 48u);
  EXPECT_EQ(hash(kSha256, {}).size, 32u);
  EXPECT_EQ(hmac(kSha384, {}, {}).size, 48u);
}

}  // namespace
}  // namespace portcullis::net::tls13

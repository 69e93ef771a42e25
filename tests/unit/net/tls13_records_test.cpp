// TLS 1.3 record protection on its own: HKDF-Expand-Label against values computed with Python's
// hmac module, framing limits, and seal/open between two TrafficKeys of the same secret
// (sequence numbers, KeyUpdate, tampering). Interoperability with OpenSSL: tls_handoff_test.
#include "net/tls13_records.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "../common/hex.h"

namespace portcullis::net {
namespace {

using portcullis::testing::hex;

std::vector<std::uint8_t> counting(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i);
  return v;
}

TEST(Tls13Records, HkdfExpandLabelMatchesAnIndependentImplementation) {
  const auto s256 = counting(32);
  const auto s384 = counting(48);
  std::array<std::uint8_t, 48> out{};
  ASSERT_TRUE(hkdf_expand_label(RecordAead::Aes128Gcm, s256, "key", std::span(out.data(), 16)));
  EXPECT_EQ(hex(std::span(out.data(), 16)), "9c9783cf77ea32d44f369da41f19f3cc");
  ASSERT_TRUE(
      hkdf_expand_label(RecordAead::ChaCha20Poly1305, s256, "iv", std::span(out.data(), 12)));
  EXPECT_EQ(hex(std::span(out.data(), 12)), "2f41c846a431a163814bcd71");
  ASSERT_TRUE(
      hkdf_expand_label(RecordAead::Aes128Gcm, s256, "traffic upd", std::span(out.data(), 32)));
  EXPECT_EQ(hex(std::span(out.data(), 32)),
            "2cecd0a17506ef5fa73edc062d6e7b5397cf074ec1b4d8f99a120772932f0b45");
  ASSERT_TRUE(hkdf_expand_label(RecordAead::Aes256Gcm, s384, "key", std::span(out.data(), 32)));
  EXPECT_EQ(hex(std::span(out.data(), 32)),
            "6877d022f1c61d24ebb7487c16752d9a4798e40431c75b39320e537c90e23225");
  ASSERT_TRUE(hkdf_expand_label(RecordAead::Aes256Gcm, s384, "traffic upd", out));
  EXPECT_EQ(hex(out),
            "401331b63e9d59f202e8f041042d9516f4cd7fa2e2ee14631d3b49fc340d7af37fc2c0c9f252d8036f81ec"
            "5b85cbe5db");
  // Longer than the hash: HKDF would need a second block, which TLS 1.3 never asks for here.
  std::array<std::uint8_t, 33> too_long{};
  EXPECT_FALSE(hkdf_expand_label(RecordAead::Aes128Gcm, s256, "key", too_long));
}

TEST(Tls13Records, SuitesAndSecretLengths) {
  EXPECT_EQ(record_aead_for_suite(0x1301), RecordAead::Aes128Gcm);
  EXPECT_EQ(record_aead_for_suite(0x1302), RecordAead::Aes256Gcm);
  EXPECT_EQ(record_aead_for_suite(0x1303), RecordAead::ChaCha20Poly1305);
  EXPECT_FALSE(record_aead_for_suite(0x1304));  // TLS_AES_128_CCM_SHA256 stays with OpenSSL
  EXPECT_FALSE(TrafficKeys::from_secret(RecordAead::Aes256Gcm, counting(32), 0));
  EXPECT_FALSE(TrafficKeys::from_secret(RecordAead::Aes128Gcm, counting(48), 0));
  EXPECT_TRUE(TrafficKeys::from_secret(RecordAead::Aes128Gcm, counting(32), 0));
}

TEST(Tls13Records, Framing) {
  EXPECT_FALSE(frame_record(std::vector<std::uint8_t>{23, 3, 3, 0}).size);  // header incomplete
  const auto ok = frame_record(std::vector<std::uint8_t>{23, 3, 3, 0x41, 0x00});
  EXPECT_EQ(ok.size, kRecordHeaderSize + 0x4100);  // 2^14 + 256: the largest allowed
  EXPECT_EQ(frame_record(std::vector<std::uint8_t>{23, 3, 3, 0x41, 0x01}).error,
            AlertCode::RecordOverflow);
  for (std::uint8_t type : {20, 21, 22, 24}) {
    EXPECT_EQ(frame_record(std::vector<std::uint8_t>{type, 3, 3, 0, 2}).error,
              AlertCode::UnexpectedMessage)
        << int(type);
  }
  EXPECT_EQ(alert_name(20), "bad_record_mac");
  EXPECT_EQ(alert_name(116), "certificate_required");
  EXPECT_EQ(alert_name(255), "unknown");
}

class SealOpen : public ::testing::TestWithParam<RecordAead> {
 protected:
  std::size_t secret_size() const { return GetParam() == RecordAead::Aes256Gcm ? 48 : 32; }
  TrafficKeys keys(std::uint64_t sequence = 0) {
    return *TrafficKeys::from_secret(GetParam(), counting(secret_size()), sequence);
  }
  static std::vector<std::uint8_t> seal(TrafficKeys& k, const std::string& text,
                                        ContentType type = ContentType::ApplicationData) {
    std::vector<std::uint8_t> out(text.size() + kRecordOverhead);
    const std::span<const std::uint8_t> piece(reinterpret_cast<const std::uint8_t*>(text.data()),
                                              text.size());
    out.resize(k.seal(type, std::span(&piece, 1), out.data()));
    return out;
  }
  static std::string open(TrafficKeys& k, std::vector<std::uint8_t> record, bool* ok = nullptr) {
    const auto opened = k.open(record);
    if (ok != nullptr) *ok = opened.ok;
    if (!opened.ok) return "";
    return {reinterpret_cast<char*>(record.data() + kRecordHeaderSize), opened.size};
  }
};

TEST_P(SealOpen, RoundTripsInSequence) {
  auto writer = keys(7);
  auto reader = keys(7);
  for (int i = 0; i < 3; ++i) {
    const auto record = seal(writer, "record " + std::to_string(i));
    ASSERT_EQ(record.size(), 8 + kRecordOverhead);
    EXPECT_EQ(record[0], 23);  // outer type: application_data whatever the content
    EXPECT_EQ(open(reader, record), "record " + std::to_string(i));
  }
  EXPECT_EQ(writer.sequence(), 10u);
  EXPECT_EQ(reader.sequence(), 10u);
}

TEST_P(SealOpen, TheInnerTypeSurvivesAndPiecesAreGathered) {
  auto writer = keys();
  auto reader = keys();
  const std::string a = "head|", b = "", c = "body";
  const std::span<const std::uint8_t> pieces[] = {
      {reinterpret_cast<const std::uint8_t*>(a.data()), a.size()},
      {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()},
      {reinterpret_cast<const std::uint8_t*>(c.data()), c.size()}};
  std::vector<std::uint8_t> record(a.size() + c.size() + kRecordOverhead);
  ASSERT_EQ(writer.seal(ContentType::Alert, pieces, record.data()), record.size());
  const auto opened = reader.open(record);
  ASSERT_TRUE(opened.ok);
  EXPECT_EQ(opened.type, ContentType::Alert);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(record.data() + 5), opened.size), "head|body");
}

TEST_P(SealOpen, AnotherSequenceNumberOrTamperingFails) {
  auto writer = keys(0);
  auto behind = keys(1);
  bool ok = true;
  open(behind, seal(writer, "replayed?"), &ok);
  EXPECT_FALSE(ok);
  auto reader = keys(1);
  auto record = seal(writer, "second");
  for (std::size_t at : {std::size_t{3}, std::size_t{6}, record.size() - 1}) {
    auto bad = record;
    bad[at] ^= 0x80;  // the header is authenticated too
    auto probe = keys(1);
    open(probe, bad, &ok);
    EXPECT_FALSE(ok) << at;
  }
  EXPECT_EQ(open(reader, record), "second");
}

TEST_P(SealOpen, KeyUpdateChangesTheKeyOnBothSides) {
  auto writer = keys(5);
  auto reader = keys(5);
  ASSERT_TRUE(writer.update());
  EXPECT_EQ(writer.sequence(), 0u);
  bool ok = true;
  const auto record = seal(writer, "next generation");
  auto stale = keys(0);
  open(stale, record, &ok);
  EXPECT_FALSE(ok);
  ASSERT_TRUE(reader.update());
  EXPECT_EQ(open(reader, record), "next generation");
}

TEST_P(SealOpen, OversizedPlaintextIsNotSealed) {
  auto writer = keys();
  const std::string big(kMaxRecordPlaintext + 1, 'x');
  EXPECT_TRUE(seal(writer, big).empty());
  EXPECT_EQ(seal(writer, std::string(kMaxRecordPlaintext, 'x')).size(),
            kMaxRecordPlaintext + kRecordOverhead);
}

INSTANTIATE_TEST_SUITE_P(Aeads, SealOpen,
                         ::testing::Values(RecordAead::Aes128Gcm, RecordAead::Aes256Gcm,
                                           RecordAead::ChaCha20Poly1305));

}  // namespace
}  // namespace portcullis::net

// RecordChannel against records a test peer seals with the same traffic secrets: what a client
// could send that OpenSSL never would (a peer's fatal alert, user_canceled, a malformed alert
// or KeyUpdate, another handshake message, padding, no content type, an unknown type) and how
// the channel answers. Real clients: tls_handoff_test (OpenSSL) and the integration tests.
#include "net/record_channel.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portcullis::net {
namespace {

std::vector<std::uint8_t> secret(std::uint8_t seed) {
  std::vector<std::uint8_t> s(32);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(seed + i);
  return s;
}

TrafficKeys keys(std::uint8_t seed) {
  return *TrafficKeys::from_secret(RecordAead::Aes128Gcm, secret(seed), 0);
}

class RecordChannelTest : public ::testing::Test {
 protected:
  /// The client's records are sealed with secret 1, ours with secret 2.
  RecordChannel channel_{RecordProtection{keys(1), keys(2)}};
  TrafficKeys client_write_ = keys(1);
  TrafficKeys client_read_ = keys(2);

  /// Seals a record as the client and hands it to the channel.
  void send(ContentType type, const std::vector<std::uint8_t>& body) {
    std::vector<std::uint8_t> record(body.size() + kRecordOverhead);
    const std::span<const std::uint8_t> piece(body);
    record.resize(client_write_.seal(type, std::span(&piece, 1), record.data()));
    auto space = channel_.input_space();
    ASSERT_LE(record.size(), space.size());
    std::copy(record.begin(), record.end(), space.begin());
    channel_.input_received(record.size());
  }
  void send_text(const std::string& text) {
    send(ContentType::ApplicationData, std::vector<std::uint8_t>(text.begin(), text.end()));
  }
  std::string read_text() {
    std::string out;
    while (channel_.process() == RecordChannel::Step::Data) {
      std::uint8_t buf[256];
      const std::size_t n = channel_.take_plaintext(buf);
      out.append(reinterpret_cast<char*>(buf), n);
    }
    return out;
  }
  /// Opens, as the client, the records the channel sealed into `bytes`: their types and bodies.
  std::vector<std::pair<ContentType, std::string>> client_opens(std::vector<std::uint8_t> bytes) {
    std::vector<std::pair<ContentType, std::string>> out;
    std::size_t at = 0;
    while (at < bytes.size()) {
      const auto framing = frame_record(std::span(bytes).subspan(at));
      EXPECT_TRUE(framing.size);
      if (!framing.size) break;
      const auto record = std::span(bytes).subspan(at, *framing.size);
      const auto opened = client_read_.open(record);
      EXPECT_TRUE(opened.ok);
      out.emplace_back(opened.type,
                       std::string(reinterpret_cast<char*>(record.data() + 5), opened.size));
      at += *framing.size;
    }
    return out;
  }
  void expect_failed_with(const char* message, bool alert_owed) {
    EXPECT_EQ(channel_.process(), RecordChannel::Step::Failed);
    EXPECT_EQ(channel_.error().message(), message);
    std::vector<std::uint8_t> alert;
    EXPECT_EQ(channel_.seal_failure_alert(alert), alert_owed);
  }
};

TEST_F(RecordChannelTest, APeersFatalAlertIsNamedAndNotAnswered) {
  send(ContentType::Alert, {2, 45});
  expect_failed_with("the peer sent TLS alert certificate_expired", false);
}

TEST_F(RecordChannelTest, UserCanceledThenCloseNotifyCloses) {
  send_text("last words");
  send(ContentType::Alert, {1, 90});
  send(ContentType::Alert, {1, 0});
  EXPECT_EQ(read_text(), "last words");
  EXPECT_EQ(channel_.process(), RecordChannel::Step::Closed);
}

TEST_F(RecordChannelTest, AMalformedAlertIsADecodeError) {
  send(ContentType::Alert, {2, 40, 0});
  expect_failed_with("TLS record error: decode_error", true);
}

TEST_F(RecordChannelTest, HandshakeMessagesOtherThanKeyUpdateAreRefused) {
  send(ContentType::Handshake, {4, 0, 0, 0});  // a NewSessionTicket from the client
  expect_failed_with("TLS record error: unexpected_message", true);
}

TEST_F(RecordChannelTest, AKeyUpdateWithAnotherLengthIsADecodeError) {
  send(ContentType::Handshake, {24, 0, 0, 2, 0, 0});
  expect_failed_with("TLS record error: decode_error", true);
}

TEST_F(RecordChannelTest, AKeyUpdateRequestOtherThanZeroOrOneIsAnIllegalParameter) {
  send(ContentType::Handshake, {24, 0, 0, 1, 2});
  expect_failed_with("TLS record error: illegal_parameter", true);
}

TEST_F(RecordChannelTest, AnInnerPlaintextWithoutContentTypeIsUnexpected) {
  send(static_cast<ContentType>(0), {});  // all zeros: padding only
  expect_failed_with("TLS record error: unexpected_message", true);
}

TEST_F(RecordChannelTest, AnUnknownInnerTypeIsUnexpected) {
  send(static_cast<ContentType>(25), {'x'});
  expect_failed_with("TLS record error: unexpected_message", true);
}

TEST_F(RecordChannelTest, PaddingIsStrippedAndEmptyDataSkipped) {
  // Sealed with "type" 0 after the real type byte: the inner plaintext is "abc" 23 0.
  send(static_cast<ContentType>(0), {'a', 'b', 'c', 23});
  send_text("");
  send_text("def");
  EXPECT_EQ(read_text(), "abcdef");
  EXPECT_EQ(channel_.process(), RecordChannel::Step::NeedInput);
}

TEST_F(RecordChannelTest, ARequestedKeyUpdateIsAnsweredBeforeOurNextData) {
  send(ContentType::Handshake, {24, 0, 0, 1, 1});
  ASSERT_TRUE(client_write_.update());  // the client's next records use its next key
  send_text("after");
  EXPECT_EQ(read_text(), "after");
  std::vector<std::uint8_t> out;
  const std::string reply = "reply";
  const std::span<const std::uint8_t> piece(reinterpret_cast<const std::uint8_t*>(reply.data()),
                                            reply.size());
  ASSERT_TRUE(channel_.seal(std::span(&piece, 1), out));
  // Our KeyUpdate(update_not_requested) under the old key, then the reply under the next one.
  const auto framing = frame_record(out);
  ASSERT_TRUE(framing.size);
  auto first = client_opens({out.begin(), out.begin() + static_cast<long>(*framing.size)});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].first, ContentType::Handshake);
  EXPECT_EQ(first[0].second, std::string("\x18\x00\x00\x01\x00", 5));
  ASSERT_TRUE(client_read_.update());
  auto second = client_opens({out.begin() + static_cast<long>(*framing.size), out.end()});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].second, "reply");
}

}  // namespace
}  // namespace portcullis::net

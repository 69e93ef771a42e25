// The hand-off of TLS 1.3 records from OpenSSL to the gateway, against OpenSSL itself as the
// client: a real handshake over a memory BIO pair with the listener's own context, then the
// server side continues with RecordChannel and the client with SSL_read/SSL_write. Every
// cipher suite; data in both directions, large writes, KeyUpdate, close_notify, tampering, and
// the cases where OpenSSL must keep the connection.
#include "net/tls_handoff.h"

#include <gtest/gtest.h>

#include <openssl/err.h>

#include <filesystem>
#include <string>
#include <vector>

#include "net/record_channel.h"
#include "net/tls_context.h"
#include "pki/demo_pki.h"

namespace portcullis::net {
namespace {

std::string* pki_dir = nullptr;

/// One client-server pair over a BIO pair; the test holds its own reference to the server's end
/// of the pair, so the "wire" outlives the server's SSL after the hand-off.
class Pair {
 public:
  Pair(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
    server_ = SSL_new(server_ctx);
    client_ = SSL_new(client_ctx);
    BIO* client_end = nullptr;
    BIO_new_bio_pair(&client_end, 1 << 17, &wire_, 1 << 17);
    BIO_up_ref(wire_);
    SSL_set_bio(server_, wire_, wire_);
    SSL_set_bio(client_, client_end, client_end);
    SSL_set_accept_state(server_);
    SSL_set_connect_state(client_);
    watch_for_handoff(server_);
  }
  ~Pair() {
    SSL_free(client_);
    SSL_free(server_);
    BIO_free(wire_);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  bool handshake() {
    for (int i = 0; i < 20; ++i) {
      const int c = SSL_do_handshake(client_);
      const int s = SSL_do_handshake(server_);
      if (c == 1 && s == 1) return true;
      if (c <= 0 && SSL_get_error(client_, c) != SSL_ERROR_WANT_READ) return false;
      if (s <= 0 && SSL_get_error(server_, s) != SSL_ERROR_WANT_READ) return false;
    }
    return false;
  }

  /// Takes the server side over; the SSL is freed as the gateway does.
  bool take(std::string* why = nullptr) {
    auto protection = take_record_protection(server_, why);
    if (!protection) return false;
    channel_.emplace(std::move(*protection));
    SSL_free(server_);
    server_ = nullptr;
    return true;
  }

  RecordChannel& channel() { return *channel_; }
  SSL* client() { return client_; }
  SSL* server() { return server_; }

  void client_write(const std::string& data) {
    ASSERT_EQ(SSL_write(client_, data.data(), static_cast<int>(data.size())),
              static_cast<int>(data.size()));
  }

  /// Everything the client reads until it would block ("" and `error` set when it fails).
  std::string client_read(int* error = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(client_, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const int e = SSL_get_error(client_, n);
      if (error != nullptr) *error = e == SSL_ERROR_WANT_READ ? 0 : e;
      return out;
    }
  }

  /// Moves the bytes the client wrote into the channel and opens them: the application data
  /// read, and the last step.
  std::pair<std::string, RecordChannel::Step> server_read() {
    std::string out;
    for (;;) {
      const auto step = channel_->process();
      if (step == RecordChannel::Step::Data) {
        std::uint8_t buf[1000];
        const auto n = channel_->take_plaintext(buf);
        out.append(reinterpret_cast<char*>(buf), n);
        continue;
      }
      if (step != RecordChannel::Step::NeedInput) return {out, step};
      const auto space = channel_->input_space();
      const int n = BIO_read(wire_, space.data(), static_cast<int>(space.size()));
      if (n <= 0) return {out, step};
      channel_->input_received(static_cast<std::size_t>(n));
    }
  }

  /// Raw bytes from the client, not yet given to the channel.
  std::vector<std::uint8_t> wire_bytes() {
    std::vector<std::uint8_t> bytes(1 << 17);
    const int n = BIO_read(wire_, bytes.data(), static_cast<int>(bytes.size()));
    bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return bytes;
  }
  void feed(const std::vector<std::uint8_t>& bytes) {
    auto space = channel_->input_space();
    ASSERT_LE(bytes.size(), space.size());
    std::copy(bytes.begin(), bytes.end(), space.begin());
    channel_->input_received(bytes.size());
  }

  void send_to_client(const std::vector<std::uint8_t>& bytes) {
    ASSERT_EQ(BIO_write(wire_, bytes.data(), static_cast<int>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  /// One request and response over the handed-over connection.
  void exchange(const std::string& request, const std::string& response) {
    client_write(request);
    EXPECT_EQ(server_read().first, request);
    server_write(response);
    EXPECT_EQ(client_read(), response);
  }

  void server_write(const std::string& data) {
    std::vector<std::uint8_t> sealed;
    const std::span<const std::uint8_t> piece(reinterpret_cast<const std::uint8_t*>(data.data()),
                                              data.size());
    ASSERT_TRUE(channel_->seal(std::span(&piece, 1), sealed));
    send_to_client(sealed);
  }

 private:
  SSL* server_ = nullptr;
  SSL* client_ = nullptr;
  BIO* wire_ = nullptr;
  std::optional<RecordChannel> channel_;
};

class TlsHandoffTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    pki_dir = new std::string(::testing::TempDir() + "/tls_handoff_test");
    std::filesystem::create_directories(*pki_dir);
    ASSERT_TRUE(pki::generate_demo_pki(*pki_dir));
  }
  static void TearDownTestSuite() {
    delete pki_dir;
    pki_dir = nullptr;
  }

  void SetUp() override {
    config::ServerTlsConfig tls;
    tls.cert = {*pki_dir + "/server-chain.pem", {"listeners[0].tls.cert", 5}};
    tls.key = {*pki_dir + "/server.key", {"listeners[0].tls.key", 6}};
    auto ctx = make_server_context(tls);
    ASSERT_TRUE(ctx) << ctx.error().to_string();
    server_ctx_ = std::move(*ctx);
    SSL_CTX* server = server_ctx_->native_handle();
    SSL_CTX_set_ciphersuites(server, GetParam());
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_ciphersuites(client_ctx_, GetParam());
  }
  void TearDown() override { SSL_CTX_free(client_ctx_); }

  std::unique_ptr<boost::asio::ssl::context> server_ctx_;
  SSL_CTX* client_ctx_ = nullptr;
};

TEST_P(TlsHandoffTest, DataFlowsBothWaysAfterTheHandoff) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  std::string why;
  ASSERT_TRUE(pair.take(&why)) << why;
  pair.client_write("GET / HTTP/1.1\r\n\r\n");
  auto [in, step] = pair.server_read();
  EXPECT_EQ(in, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(step, RecordChannel::Step::NeedInput);
  // The client first reads the session ticket OpenSSL sent (our record 0), then ours.
  pair.server_write("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(pair.client_read(), "HTTP/1.1 200 OK\r\n\r\n");
  for (int i = 0; i < 5; ++i) {
    pair.exchange("request " + std::to_string(i), "response " + std::to_string(i));
  }
}

TEST_P(TlsHandoffTest, RecordsOpenSslProtectedBeforeTheHandoffCount) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  // A first request and response through OpenSSL, as when the request came with the Finished.
  for (int i = 0; i < 3; ++i) {
    pair.client_write("early " + std::to_string(i));
    char buf[64];
    ASSERT_GT(SSL_read(pair.server(), buf, sizeof buf), 0);
    ASSERT_EQ(SSL_write(pair.server(), "ok", 2), 2);
  }
  EXPECT_EQ(pair.client_read(), "okokok");
  std::string why;
  ASSERT_TRUE(pair.take(&why)) << why;
  pair.exchange("after", "fine");
}

TEST_P(TlsHandoffTest, LargeWritesSpanManyRecords) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.take());
  std::string big(100 * 1000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  pair.client_write(big);
  std::string got;
  for (int i = 0; i < 10 && got.size() < big.size(); ++i) got += pair.server_read().first;
  EXPECT_EQ(got, big);
  // Three pieces gathered into records of 16 KiB at most.
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  const std::span<const std::uint8_t> pieces[] = {
      {reinterpret_cast<const std::uint8_t*>(head.data()), head.size()},
      {reinterpret_cast<const std::uint8_t*>(big.data()), big.size()},
      {reinterpret_cast<const std::uint8_t*>(head.data()), head.size()}};
  std::vector<std::uint8_t> sealed;
  ASSERT_TRUE(pair.channel().seal(pieces, sealed));
  EXPECT_EQ(sealed.size(), 2 * head.size() + big.size() + 7 * kRecordOverhead);
  pair.send_to_client(sealed);
  EXPECT_EQ(pair.client_read(), head + big + head);
}

TEST_P(TlsHandoffTest, KeyUpdateRequestedByTheClientIsAnswered) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.take());
  pair.server_write("hello");
  EXPECT_EQ(pair.client_read(), "hello");
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(SSL_key_update(pair.client(), SSL_KEY_UPDATE_REQUESTED), 1);
    pair.client_write("with the next key");  // the KeyUpdate goes out first
    EXPECT_EQ(pair.server_read().first, "with the next key");
    pair.server_write("answered");  // our KeyUpdate, then the data under our next key
    int error = 0;
    EXPECT_EQ(pair.client_read(&error), "answered");
    EXPECT_EQ(error, 0);
  }
  ASSERT_EQ(SSL_key_update(pair.client(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  pair.exchange("quiet update", "still our key");
}

TEST_P(TlsHandoffTest, CloseNotifyBothWays) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.take());
  std::vector<std::uint8_t> notify;
  ASSERT_TRUE(pair.channel().seal_close_notify(notify));
  pair.send_to_client(notify);
  int error = 0;
  pair.client_read(&error);
  EXPECT_EQ(error, SSL_ERROR_ZERO_RETURN);
  SSL_shutdown(pair.client());
  EXPECT_EQ(pair.server_read().second, RecordChannel::Step::Closed);
}

TEST_P(TlsHandoffTest, ATamperedRecordFailsWithBadRecordMacAndTheClientHearsIt) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.take());
  pair.client_write("pay 100");
  auto bytes = pair.wire_bytes();
  ASSERT_GT(bytes.size(), kRecordHeaderSize + 3);
  bytes[kRecordHeaderSize + 2] ^= 0x01;
  pair.feed(bytes);
  EXPECT_EQ(pair.channel().process(), RecordChannel::Step::Failed);
  EXPECT_EQ(pair.channel().error().message(), "TLS record error: bad_record_mac");
  std::vector<std::uint8_t> alert;
  ASSERT_TRUE(pair.channel().seal_failure_alert(alert));
  EXPECT_FALSE(pair.channel().seal_failure_alert(alert));  // once
  pair.send_to_client(alert);
  int error = 0;
  pair.client_read(&error);
  EXPECT_EQ(error, SSL_ERROR_SSL);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
  ERR_clear_error();
  // The channel stays failed.
  std::vector<std::uint8_t> more;
  const std::span<const std::uint8_t> nothing;
  EXPECT_FALSE(pair.channel().seal(std::span(&nothing, 1), more));
}

TEST_P(TlsHandoffTest, PlaintextAndOversizedRecordsAreRefused) {
  {
    Pair pair(server_ctx_->native_handle(), client_ctx_);
    ASSERT_TRUE(pair.handshake());
    ASSERT_TRUE(pair.take());
    pair.feed({20, 3, 3, 0, 1, 1});  // change_cipher_spec after the handshake
    EXPECT_EQ(pair.channel().process(), RecordChannel::Step::Failed);
    EXPECT_EQ(pair.channel().error().message(), "TLS record error: unexpected_message");
  }
  {
    Pair pair(server_ctx_->native_handle(), client_ctx_);
    ASSERT_TRUE(pair.handshake());
    ASSERT_TRUE(pair.take());
    pair.feed({23, 3, 3, 0x41, 0x01});  // 16,641 bytes: over 2^14 + 256
    EXPECT_EQ(pair.channel().process(), RecordChannel::Step::Failed);
    EXPECT_EQ(pair.channel().error().message(), "TLS record error: record_overflow");
  }
}

TEST_P(TlsHandoffTest, AnIdleChannelHoldsNoBuffer) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.take());
  pair.client_write("one");
  pair.client_write("two");
  const auto bytes = pair.wire_bytes();
  pair.feed(std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 3));  // the second cut short
  EXPECT_EQ(pair.channel().process(), RecordChannel::Step::Data);
  std::uint8_t buf[16];
  EXPECT_EQ(pair.channel().take_plaintext(buf), 3u);
  EXPECT_FALSE(pair.channel().has_buffered_input());
  EXPECT_EQ(pair.channel().process(), RecordChannel::Step::NeedInput);
  pair.channel().release_idle_buffer();  // keeps the partial record
  pair.feed(std::vector<std::uint8_t>(bytes.end() - 3, bytes.end()));
  EXPECT_TRUE(pair.channel().has_buffered_input());
  EXPECT_EQ(pair.server_read().first, "two");
  pair.channel().release_idle_buffer();
  EXPECT_FALSE(pair.channel().has_buffered_input());
}

INSTANTIATE_TEST_SUITE_P(Suites, TlsHandoffTest,
                         ::testing::Values("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"),
                         [](const auto& info) { return std::string(info.param); });

// ---- when OpenSSL keeps the connection ---------------------------------------------------------

class TlsHandoffRefusedTest : public TlsHandoffTest {};

TEST_P(TlsHandoffRefusedTest, UnreadInputInsideOpenSsl) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  pair.client_write("0123456789");
  char buf[4];
  ASSERT_EQ(SSL_read(pair.server(), buf, sizeof buf), 4);  // six bytes left in OpenSSL
  std::string why;
  EXPECT_FALSE(pair.take(&why));
  EXPECT_EQ(why, "OpenSSL holds unread input");
  EXPECT_TRUE(watched_for_handoff(pair.server()));  // a later attempt may succeed
  char rest[16];
  ASSERT_EQ(SSL_read(pair.server(), rest, sizeof rest), 6);
  EXPECT_TRUE(pair.take(&why)) << why;  // drained: now it can
}

TEST_P(TlsHandoffRefusedTest, AKeyUpdateOpenSslProcessed) {
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(SSL_key_update(pair.client(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  pair.client_write("x");
  char buf[4];
  ASSERT_EQ(SSL_read(pair.server(), buf, sizeof buf), 1);
  std::string why;
  EXPECT_FALSE(pair.take(&why));
  EXPECT_EQ(why, "a KeyUpdate was processed by OpenSSL");
  EXPECT_FALSE(watched_for_handoff(pair.server()));  // for good
  EXPECT_FALSE(pair.take(&why));
  EXPECT_EQ(why, "not watched");
}

TEST_P(TlsHandoffRefusedTest, Tls12) {
  SSL_CTX_set_max_proto_version(client_ctx_, TLS1_2_VERSION);
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  std::string why;
  EXPECT_FALSE(pair.take(&why));
  EXPECT_EQ(why, "not TLS 1.3");
  EXPECT_FALSE(watched_for_handoff(pair.server()));
}

TEST_P(TlsHandoffRefusedTest, AContextWithoutHandoff) {
  SSL_CTX_set_keylog_callback(server_ctx_->native_handle(), nullptr);
  Pair pair(server_ctx_->native_handle(), client_ctx_);
  ASSERT_TRUE(pair.handshake());
  std::string why;
  EXPECT_FALSE(pair.take(&why));
  EXPECT_EQ(why, "not watched");
}

INSTANTIATE_TEST_SUITE_P(Suites, TlsHandoffRefusedTest, ::testing::Values("TLS_AES_128_GCM_SHA256"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace portcullis::net

// The gateway's own TLS 1.3 server handshake against OpenSSL as the client, in memory: the
// client's ClientHello goes to ServerHandshake, the flights go back and forth, then the
// connection continues on RecordChannel (server) and SSL_read/SSL_write (client). Every suite;
// the server chain verified by the client; resumption with our tickets; client certificates
// (accepted, refused in require_handshake with OpenSSL's alerts, missing); tampering; and the
// hellos that are left to OpenSSL.
#include "net/tls13_server_handshake.h"

#include <gtest/gtest.h>

#include <openssl/err.h>

#include <functional>
#include <string>
#include <vector>

#include "../common/demo_pki.h"
#include "net/record_channel.h"
#include "net/tls_context.h"

namespace portcullis::net::tls13 {
namespace {

std::string path(const std::string& file) {
  return portcullis::testing::demo_pki_path(file);
}

/// An OpenSSL client over a memory BIO pair; the test holds the server's end.
class Client {
 public:
  explicit Client(SSL_CTX* ctx, SSL_SESSION* session = nullptr) {
    ssl_ = SSL_new(ctx);
    BIO* ours = nullptr;
    BIO_new_bio_pair(&ours, 1 << 18, &wire_, 1 << 18);
    SSL_set_bio(ssl_, ours, ours);
    SSL_set_connect_state(ssl_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    if (session != nullptr) SSL_set_session(ssl_, session);
  }
  ~Client() {
    // Marked shut down, or SSL_free would make the client's session non-resumable.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
    BIO_free(wire_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  SSL* ssl() { return ssl_; }
  /// Runs the client's handshake as far as it goes: 1 done, 0 waiting, -1 failed.
  int step() {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) return 1;
    return SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ ? 0 : -1;
  }
  std::vector<std::uint8_t> take_sent() {
    std::vector<std::uint8_t> bytes(1 << 18);
    const int n = BIO_read(wire_, bytes.data(), static_cast<int>(bytes.size()));
    bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return bytes;
  }
  void give(const std::vector<std::uint8_t>& bytes) {
    if (bytes.empty()) return;
    ASSERT_EQ(BIO_write(wire_, bytes.data(), static_cast<int>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  SSL* ssl_ = nullptr;
  BIO* wire_ = nullptr;
};

/// Drives one handshake: the server side is ours, from the client's first flight on.
struct Flight {
  std::unique_ptr<ServerHandshake> hs;
  std::string why;
  int client = 0;
  std::vector<std::uint8_t> leftover;  ///< bytes after the client's Finished
};

Flight handshake(const ServerSetup& setup, Client& client,
                 const std::function<void(std::vector<std::uint8_t>&)>& tamper = {}) {
  Flight run;
  EXPECT_EQ(client.step(), 0);
  const auto hello = client.take_sent();
  const HelloFrame frame = frame_client_hello(hello);
  EXPECT_EQ(frame.status, HelloFrame::Status::ClientHello);
  std::vector<std::uint8_t> message(frame.message.begin(), frame.message.end());
  run.hs = ServerHandshake::start(setup, message, &run.why);
  if (!run.hs) return run;
  for (int i = 0; i < 4 && run.hs->step() == ServerHandshake::Step::NeedInput; ++i) {
    client.give(run.hs->output());
    run.hs->output().clear();
    run.client = client.step();
    auto sent = client.take_sent();
    if (tamper) tamper(sent);
    run.hs->receive(sent);
    run.leftover = sent;
  }
  client.give(run.hs->output());
  run.hs->output().clear();
  if (run.client == 0) run.client = client.step();
  return run;
}

/// The record layer after a handshake, owing the client our ticket, as the transport sets it up.
RecordChannel channel_of(ServerHandshake& hs) {
  RecordChannel channel(hs.take_protection());
  channel.seal_before_next_record(hs.take_ticket());
  return channel;
}

class Tls13ServerHandshakeTest : public ::testing::Test {
 protected:
  void make_server(config::ClientAuthMode mode) {
    auto ctx = make_server_context(portcullis::testing::demo_server_tls());
    ASSERT_TRUE(ctx) << ctx.error().to_string();
    server_ctx_ = std::move(*ctx);
    std::string why;
    ASSERT_TRUE(enable_own_handshake(server_ctx_->native_handle(), &why)) << why;
    if (mode != config::ClientAuthMode::Off) {
      config::ClientAuthConfig ca;
      ca.mode = mode;
      ca.trusted_ca = config::FileRef{path("client-ca-bundle.pem"), {"trusted_ca", 9}};
      ca.intermediates = config::FileRef{path("client-intermediates.pem"), {"intermediates", 10}};
      auto auth = make_client_auth(ca);
      ASSERT_TRUE(auth) << auth.error().to_string();
      auth_ = std::move(*auth);
      install_client_auth(server_ctx_->native_handle(), *auth_);
    }
    setup_ = server_setup(server_ctx_->native_handle());
    ASSERT_NE(setup_, nullptr);
  }

  SSL_CTX* make_client(const char* suites = nullptr, const std::string& cert = "") {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    clients_.push_back(ctx);
    if (suites != nullptr) SSL_CTX_set_ciphersuites(ctx, suites);
    // The client verifies our chain against the server root.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx, path("server-root-ca.pem").c_str(), nullptr), 1);
    if (!cert.empty()) {
      EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx, path(cert + ".pem").c_str()), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx, path(cert + ".key").c_str(), SSL_FILETYPE_PEM), 1);
    }
    return ctx;
  }

  void TearDown() override {
    for (SSL_CTX* c : clients_) SSL_CTX_free(c);
  }

  /// One request and response over the records after the handshake.
  static void exchange(Client& client, RecordChannel& channel, std::vector<std::uint8_t> pending) {
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(SSL_write(client.ssl(), request.data(), static_cast<int>(request.size())),
              static_cast<int>(request.size()));
    auto sent = client.take_sent();
    pending.insert(pending.end(), sent.begin(), sent.end());
    auto space = channel.input_space();
    ASSERT_LE(pending.size(), space.size());
    std::copy(pending.begin(), pending.end(), space.begin());
    channel.input_received(pending.size());
    ASSERT_EQ(channel.process(), RecordChannel::Step::Data);
    std::uint8_t buf[256];
    const auto n = channel.take_plaintext(buf);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), request);
    const std::string response = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    std::vector<std::uint8_t> sealed;
    const std::span<const std::uint8_t> piece(
        reinterpret_cast<const std::uint8_t*>(response.data()), response.size());
    ASSERT_TRUE(channel.seal(std::span(&piece, 1), sealed));
    client.give(sealed);
    EXPECT_EQ(client.read_all(), response);
  }

  std::unique_ptr<boost::asio::ssl::context> server_ctx_;
  std::unique_ptr<ClientAuth> auth_;
  const ServerSetup* setup_ = nullptr;
  std::vector<SSL_CTX*> clients_;
};

TEST_F(Tls13ServerHandshakeTest, EverySuiteCompletesAndCarriesData) {
  make_server(config::ClientAuthMode::Off);
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    SCOPED_TRACE(suite);
    Client client(make_client(suite));
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done) << run.hs->error().message();
    ASSERT_EQ(run.client, 1);
    EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_OK);  // our chain, verified
    EXPECT_STREQ(SSL_get_cipher_name(client.ssl()), suite);
    EXPECT_STREQ(run.hs->cipher_name(), suite);
    EXPECT_FALSE(run.hs->resumed());
    EXPECT_EQ(run.hs->verdict(), nullptr);
    RecordChannel channel = channel_of(*run.hs);
    exchange(client, channel, run.leftover);
  }
}

TEST_F(Tls13ServerHandshakeTest, TheServerPrefersItsOwnSuiteOrder) {
  make_server(config::ClientAuthMode::Off);
  SSL_CTX_set_ciphersuites(server_ctx_->native_handle(),
                           "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256");
  Client client(make_client("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"));
  Flight run = handshake(*setup_, client);
  ASSERT_TRUE(run.hs) << run.why;
  ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done);
  EXPECT_STREQ(SSL_get_cipher_name(client.ssl()), "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_F(Tls13ServerHandshakeTest, OurTicketResumesWithTheVerdict) {
  make_server(config::ClientAuthMode::Require);
  SSL_CTX* ctx = make_client(nullptr, "client-good");
  SSL_SESSION* session = nullptr;
  {
    Client client(ctx);
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done) << run.hs->error().message();
    ASSERT_NE(run.hs->verdict(), nullptr);
    EXPECT_TRUE(run.hs->verdict()->ok());
    ASSERT_NE(run.hs->leaf(), nullptr);
    RecordChannel channel = channel_of(*run.hs);
    exchange(client, channel, run.leftover);  // the client reads our ticket on the way
    session = SSL_get1_session(client.ssl());
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_SESSION_is_resumable(session), 1);
  }
  EXPECT_EQ(setup_->sessions->size(), 1u);
  // The same ticket resumes again (within its lifetime, as OpenSSL's cache did), and each
  // resumed connection gets a ticket of its own.
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    Client client(ctx, session);
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done) << run.hs->error().message();
    EXPECT_TRUE(run.hs->resumed());
    EXPECT_EQ(SSL_session_reused(client.ssl()), 1);
    ASSERT_NE(run.hs->verdict(), nullptr);
    EXPECT_TRUE(run.hs->verdict()->ok());
    EXPECT_NE(run.hs->leaf(), nullptr);
    RecordChannel channel = channel_of(*run.hs);
    exchange(client, channel, run.leftover);
  }
  EXPECT_EQ(setup_->sessions->size(), 3u);
  SSL_SESSION_free(session);
}

TEST_F(Tls13ServerHandshakeTest, ABadBinderIsRefused) {
  make_server(config::ClientAuthMode::Off);
  SSL_CTX* ctx = make_client();
  SSL_SESSION* session = nullptr;
  {
    Client client(ctx);
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs && run.hs->step() == ServerHandshake::Step::Done);
    RecordChannel channel = channel_of(*run.hs);
    exchange(client, channel, run.leftover);
    session = SSL_get1_session(client.ssl());
  }
  Client client(ctx, session);
  ASSERT_EQ(client.step(), 0);
  auto hello = client.take_sent();
  hello.back() ^= 1;  // the binder is the hello's last bytes
  const HelloFrame frame = frame_client_hello(hello);
  ASSERT_EQ(frame.status, HelloFrame::Status::ClientHello);
  auto hs = ServerHandshake::start(*setup_, frame.message);
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->step(), ServerHandshake::Step::Failed);
  EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(hs->error().value())),
            SSL_R_BINDER_DOES_NOT_VERIFY);
  // The alert went out in the clear (no keys yet): decrypt_error.
  const std::vector<std::uint8_t> expected = {21, 3, 3, 0, 2, 2, 51};
  EXPECT_EQ(hs->output(), expected);
  SSL_SESSION_free(session);
}

TEST_F(Tls13ServerHandshakeTest, ARefusedChainGetsOpenSslsAlert) {
  make_server(config::ClientAuthMode::RequireHandshake);
  const std::pair<const char*, const char*> cases[] = {
      {"client-untrusted", "unknown ca"},
      {"client-expired", "certificate expired"},
      {"client-no-clientauth", "unsupported certificate"},
  };
  for (const auto& [cert, alert] : cases) {
    SCOPED_TRACE(cert);
    Client client(make_client(nullptr, cert));
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    EXPECT_EQ(run.hs->step(), ServerHandshake::Step::Failed);
    EXPECT_TRUE(run.hs->certificate_refused());
    ASSERT_NE(run.hs->verdict(), nullptr);
    EXPECT_FALSE(run.hs->verdict()->ok());
    EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(run.hs->error().value())),
              SSL_R_CERTIFICATE_VERIFY_FAILED);
    // The client reads the alert (it had finished its side of the handshake).
    ERR_clear_error();
    char buf[16];
    EXPECT_LE(SSL_read(client.ssl(), buf, sizeof buf), 0);
    char text[256];
    ERR_error_string_n(ERR_peek_last_error(), text, sizeof text);
    EXPECT_NE(std::string(text).find(std::string("alert ") + alert), std::string::npos) << text;
    ERR_clear_error();
  }
}

TEST_F(Tls13ServerHandshakeTest, NoCertificateIsRefusedOrPassedOnByMode) {
  make_server(config::ClientAuthMode::RequireHandshake);
  {
    Client client(make_client());
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    EXPECT_EQ(run.hs->step(), ServerHandshake::Step::Failed);
    EXPECT_FALSE(run.hs->certificate_refused());
    EXPECT_EQ(run.hs->verdict(), auth_->missing);
    EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(run.hs->error().value())),
              SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    char buf[16];
    EXPECT_LE(SSL_read(client.ssl(), buf, sizeof buf), 0);
    char text[256];
    ERR_error_string_n(ERR_peek_last_error(), text, sizeof text);
    EXPECT_NE(std::string(text).find("alert certificate required"), std::string::npos) << text;
    ERR_clear_error();
  }
  make_server(config::ClientAuthMode::Require);
  {
    Client client(make_client());
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done);
    EXPECT_EQ(run.hs->verdict(), auth_->missing);  // the pipeline denies, with the code
  }
  {
    // In the non-strict modes a failed chain completes the handshake, with its verdict.
    Client client(make_client(nullptr, "client-expired"));
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done);
    ASSERT_NE(run.hs->verdict(), nullptr);
    EXPECT_FALSE(run.hs->verdict()->ok());
    EXPECT_FALSE(run.hs->certificate_refused());
  }
}

TEST_F(Tls13ServerHandshakeTest, TamperedClientRecordsFail) {
  make_server(config::ClientAuthMode::Require);
  Client client(make_client(nullptr, "client-good"));
  Flight run = handshake(*setup_, client, [](std::vector<std::uint8_t>& bytes) {
    if (bytes.size() > 40) bytes[bytes.size() - 20] ^= 0x40;  // inside the last record
  });
  ASSERT_TRUE(run.hs) << run.why;
  EXPECT_EQ(run.hs->step(), ServerHandshake::Step::Failed);
  EXPECT_EQ(run.hs->error().message(), "TLS record error: bad_record_mac");
}

TEST_F(Tls13ServerHandshakeTest, HellosItCannotServeAreLeftToOpenSsl) {
  make_server(config::ClientAuthMode::Off);
  const auto left = [&](SSL_CTX* ctx, const char* reason) {
    Client client(ctx);
    ASSERT_EQ(client.step(), 0);
    const auto hello = client.take_sent();
    const HelloFrame frame = frame_client_hello(hello);
    ASSERT_EQ(frame.status, HelloFrame::Status::ClientHello);
    std::string why;
    EXPECT_EQ(ServerHandshake::start(*setup_, frame.message, &why), nullptr);
    EXPECT_EQ(why, reason);
  };
  SSL_CTX* tls12 = make_client();
  SSL_CTX_set_max_proto_version(tls12, TLS1_2_VERSION);
  left(tls12, "TLS 1.3 not offered");
  SSL_CTX* p256 = make_client();
  SSL_CTX_set1_groups_list(p256, "P-256");
  left(p256, "X25519 not offered");
  SSL_CTX* rsa_only = make_client();
  SSL_CTX_set1_sigalgs_list(rsa_only, "RSA-PSS+SHA256");
  left(rsa_only, "ecdsa_secp256r1_sha256 not offered");
  // The listener restricted to TLS 1.2 after its setup was made.
  SSL_CTX_set_max_proto_version(server_ctx_->native_handle(), TLS1_2_VERSION);
  left(make_client(), "TLS 1.3 is disabled");
}

TEST_F(Tls13ServerHandshakeTest, AClientAuthContextWithoutClientAuthIsNeverServed) {
  make_server(config::ClientAuthMode::Off);
  // SECURITY: someone sets SSL_VERIFY_PEER without install_client_auth: OpenSSL must handle it.
  SSL_CTX_set_verify(server_ctx_->native_handle(), SSL_VERIFY_PEER, nullptr);
  Client client(make_client());
  Flight run = handshake(*setup_, client);
  EXPECT_EQ(run.hs, nullptr);
  EXPECT_EQ(run.why, "client authentication not configured for the own handshake");
}

}  // namespace
}  // namespace portcullis::net::tls13

namespace portcullis::net::tls13 {
namespace {

TEST_F(Tls13ServerHandshakeTest, TheClientsCertificateIsBoundedLikeOpenSsls) {
  make_server(config::ClientAuthMode::Require);
  // max_cert_list, as OpenSSL applies it to the client's Certificate message.
  SSL_CTX_set_max_cert_list(server_ctx_->native_handle(), 300);
  Client client(make_client(nullptr, "client-good"));
  Flight run = handshake(*setup_, client);
  ASSERT_TRUE(run.hs) << run.why;
  EXPECT_EQ(run.hs->step(), ServerHandshake::Step::Failed);
  EXPECT_EQ(ERR_GET_REASON(static_cast<unsigned long>(run.hs->error().value())),
            SSL_R_EXCESSIVE_MESSAGE_SIZE);
  EXPECT_EQ(run.hs->verdict(), nullptr);
}

TEST_F(Tls13ServerHandshakeTest, AVerifiedChainIsDecodedOnce) {
  make_server(config::ClientAuthMode::Require);
  SSL_CTX* ctx = make_client(nullptr, "client-good");
  X509* first_leaf = nullptr;
  for (int i = 0; i < 2; ++i) {
    Client client(ctx);
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs) << run.why;
    ASSERT_EQ(run.hs->step(), ServerHandshake::Step::Done);
    ASSERT_NE(run.hs->leaf(), nullptr);
    if (i == 0) first_leaf = run.hs->leaf();
    // The second connection shares the first one's decoded leaf.
    if (i == 1) {
      EXPECT_EQ(run.hs->leaf(), first_leaf);
    }
  }
  // A chain that failed verification is not kept: decoded again each time.
  SSL_CTX* expired = make_client(nullptr, "client-expired");
  X509* expired_leaf = nullptr;
  for (int i = 0; i < 2; ++i) {
    Client client(expired);
    Flight run = handshake(*setup_, client);
    ASSERT_TRUE(run.hs && run.hs->step() == ServerHandshake::Step::Done);
    if (i == 0) {
      expired_leaf = run.hs->leaf();
      X509_up_ref(expired_leaf);  // kept alive: its address cannot be reused
    }
    if (i == 1) {
      EXPECT_NE(run.hs->leaf(), expired_leaf);
    }
  }
  X509_free(expired_leaf);
}

}  // namespace
}  // namespace portcullis::net::tls13

// TLS context construction: demo PKI loads; a key that does not match, or a garbage key, is an
// error naming the YAML key and line.
#include "net/tls_context.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "net/transports.h"
#include "pki/demo_pki.h"

namespace portcullis::net {
namespace {

class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/tls_context_test");
    std::filesystem::create_directories(*dir_);
    ASSERT_TRUE(pki::generate_demo_pki(*dir_));
  }
  static void TearDownTestSuite() { delete dir_; }

  config::ServerTlsConfig server(const std::string& cert, const std::string& key) {
    config::ServerTlsConfig tls;
    tls.cert = {*dir_ + "/" + cert, {"listeners[0].tls.cert", 5}};
    tls.key = {*dir_ + "/" + key, {"listeners[0].tls.key", 6}};
    return tls;
  }

  static std::string* dir_;
};
std::string* TlsContextTest::dir_ = nullptr;

TEST_F(TlsContextTest, DemoServerChainLoads) {
  auto ctx = make_server_context(server("server-chain.pem", "server.key"));
  ASSERT_TRUE(ctx) << ctx.error().to_string();
  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(SSL_CTX_get0_chain_certs((*ctx)->native_handle(), &chain), 1);
  EXPECT_EQ(sk_X509_num(chain), 1);  // the intermediate is sent with the leaf
}

TEST_F(TlsContextTest, MismatchedKeyNamesTheKeyAndLine) {
  auto ctx = make_server_context(server("server-chain.pem", "client-good.key"));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().where, "listeners[0].tls.key");
  EXPECT_EQ(ctx.error().line, 6);
  EXPECT_NE(ctx.error().message.find("does not match"), std::string::npos) << ctx.error().message;
}

TEST_F(TlsContextTest, GarbageKeyIsAnError) {
  const std::string bad = *dir_ + "/garbage.key";
  std::ofstream(bad) << "this is not a key\n";
  auto ctx = make_server_context(server("server-chain.pem", "garbage.key"));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().where, "listeners[0].tls.key");
}

TEST_F(TlsContextTest, KeyAsCertificateIsAnError) {
  auto ctx = make_server_context(server("server.key", "server.key"));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().where, "listeners[0].tls.cert");
}

TEST_F(TlsContextTest, UpstreamContextWithCa) {
  config::UpstreamTlsConfig tls;
  tls.ca = config::FileRef{*dir_ + "/server-root-ca.pem", {"upstreams.app.tls.ca", 3}};
  auto ctx = make_upstream_context(tls);
  ASSERT_TRUE(ctx) << ctx.error().to_string();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*ctx)->native_handle()), SSL_VERIFY_PEER);
}

TEST(IpLiteral, Detects) {
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_FALSE(is_ip_literal("localhost"));
  EXPECT_FALSE(is_ip_literal("app.internal"));
}

}  // namespace
}  // namespace portcullis::net

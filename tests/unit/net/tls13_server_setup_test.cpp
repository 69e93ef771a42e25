// What a listener context gives the own handshake: a setup only for an ECDSA P-256 key with
// TLS 1.3 enabled, the suite chosen in the context's order among those offered, the CA names of
// the client authentication, and the parsed-chain cache's slots.
#include "net/tls13_server_setup.h"

#include <gtest/gtest.h>

#include <string>

#include "../common/demo_pki.h"
#include "net/tls_context.h"

namespace portcullis::net::tls13 {
namespace {

class Tls13ServerSetupTest : public ::testing::Test {
 protected:
  static std::string path(const std::string& file) {
    return portcullis::testing::demo_pki_path(file);
  }

  std::unique_ptr<boost::asio::ssl::context> context() {
    auto ctx = make_server_context(portcullis::testing::demo_server_tls());
    EXPECT_TRUE(ctx) << ctx.error().to_string();
    return ctx ? std::move(*ctx) : nullptr;
  }
};

TEST_F(Tls13ServerSetupTest, AP256ContextGetsASetupWithItsChain) {
  auto ctx = context();
  ASSERT_TRUE(ctx);
  std::string why;
  ASSERT_TRUE(enable_own_handshake(ctx->native_handle(), &why)) << why;
  const ServerSetup* setup = server_setup(ctx->native_handle());
  ASSERT_NE(setup, nullptr);
  EXPECT_EQ(setup->chain.size(), 2u);  // leaf and intermediate, as in the file
  EXPECT_NE(setup->key, nullptr);
  EXPECT_EQ(setup->auth, nullptr);
  EXPECT_TRUE(setup->ca_names.empty());
  // Enabling twice keeps the one setup.
  EXPECT_TRUE(enable_own_handshake(ctx->native_handle()));
  EXPECT_EQ(server_setup(ctx->native_handle()), setup);
}

TEST_F(Tls13ServerSetupTest, OtherKeysAndTls12OnlyContextsGetNone) {
  SSL_CTX* rsa = SSL_CTX_new(TLS_server_method());
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  X509* cert = X509_new();
  X509_set_pubkey(cert, key);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_sign(cert, key, EVP_sha256());
  ASSERT_EQ(SSL_CTX_use_certificate(rsa, cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(rsa, key), 1);
  std::string why;
  EXPECT_FALSE(enable_own_handshake(rsa, &why));
  EXPECT_EQ(why, "the key is not ECDSA P-256");
  EXPECT_EQ(server_setup(rsa), nullptr);
  X509_free(cert);
  EVP_PKEY_free(key);
  SSL_CTX_free(rsa);

  SSL_CTX* tls12 = SSL_CTX_new(TLS_server_method());
  ASSERT_EQ(SSL_CTX_use_certificate_chain_file(tls12, path("server-chain.pem").c_str()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(tls12, path("server.key").c_str(), SSL_FILETYPE_PEM), 1);
  SSL_CTX_set_max_proto_version(tls12, TLS1_2_VERSION);
  EXPECT_FALSE(enable_own_handshake(tls12, &why));
  EXPECT_EQ(why, "TLS 1.3 is disabled");
  SSL_CTX_free(tls12);

  SSL_CTX* empty = SSL_CTX_new(TLS_server_method());
  EXPECT_FALSE(enable_own_handshake(empty, &why));
  EXPECT_EQ(why, "no certificate or key");
  SSL_CTX_free(empty);
}

TEST_F(Tls13ServerSetupTest, TheSuiteFollowsTheContextsOrder) {
  auto ctx = context();
  SSL_CTX* native = ctx->native_handle();
  const std::uint16_t all[] = {0x1301, 0x1302, 0x1303};
  // OpenSSL's default order: AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM.
  EXPECT_EQ(choose_suite(native, all), 0x1302);
  const std::uint16_t some[] = {0x1301, 0x1303};
  EXPECT_EQ(choose_suite(native, some), 0x1303);
  ASSERT_EQ(SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"), 1);
  EXPECT_EQ(choose_suite(native, all), 0x1301);
  EXPECT_EQ(choose_suite(native, std::span(some).subspan(1)), 0);  // ChaCha only: not configured
  // TLS 1.2 suites and the CCM suites (no record layer for them) are never chosen.
  const std::uint16_t others[] = {0xc02b, 0x1304, 0x1305};
  EXPECT_EQ(choose_suite(native, others), 0);
}

TEST_F(Tls13ServerSetupTest, ClientAuthBringsTheCaNames) {
  auto ctx = context();
  SSL_CTX* native = ctx->native_handle();
  ASSERT_TRUE(enable_own_handshake(native));
  config::ClientAuthConfig ca;
  ca.mode = config::ClientAuthMode::Require;
  ca.trusted_ca = config::FileRef{path("client-ca-bundle.pem"), {"trusted_ca", 9}};
  auto auth = make_client_auth(ca);
  ASSERT_TRUE(auth) << auth.error().to_string();
  install_client_auth(native, **auth);
  const ServerSetup* setup = server_setup(native);
  EXPECT_EQ(setup->auth, auth->get());
  // certificate_authorities: a uint16 list length, then each DER name with its uint16 length.
  ASSERT_GT(setup->ca_names.size(), 4u);
  const std::size_t list = std::size_t{setup->ca_names[0]} << 8 | setup->ca_names[1];
  EXPECT_EQ(list + 2, setup->ca_names.size());
  const std::size_t first = std::size_t{setup->ca_names[2]} << 8 | setup->ca_names[3];
  EXPECT_LE(first + 2, list);
  EXPECT_EQ(setup->ca_names[4], 0x30);  // a DER SEQUENCE: the Name
}

TEST(Tls13ParsedChains, SlotsHoldTheLastChainOfTheirKey) {
  ParsedChains chains;
  const std::uint8_t a[] = {1, 2, 3};
  const std::uint8_t b[] = {4, 5, 6};
  const auto key_a = ParsedChains::key_of(a);
  const auto key_b = ParsedChains::key_of(b);
  EXPECT_TRUE(chains.find(key_a).empty());
  X509* cert = X509_new();
  chains.insert(key_a, {share_x509(cert)});
  ASSERT_EQ(chains.find(key_a).size(), 1u);
  EXPECT_EQ(chains.find(key_a).front().get(), cert);
  EXPECT_TRUE(chains.find(key_b).empty());
  // Another key in the same slot replaces it.
  auto colliding = key_a;
  colliding[1] ^= 1;
  chains.insert(colliding, {share_x509(X509_new())});
  EXPECT_TRUE(chains.find(key_a).empty());
  EXPECT_EQ(chains.find(colliding).size(), 1u);
}

}  // namespace
}  // namespace portcullis::net::tls13

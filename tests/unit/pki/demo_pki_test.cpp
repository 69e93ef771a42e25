// The demo PKI as a relying party sees it: every client certificate yields its intended
// X509_verify_cert outcome, the server chain is valid for localhost, and the openssl CLI agrees.
#include "pki/demo_pki.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "pki/cert_files.h"
#include "pki/trust_store.h"
#include "pki/verify.h"

namespace portcullis::pki {
namespace {

class DemoPkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pki-demo-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    auto pki = generate_demo_pki(root_ + "/demo");  // also exercises "created if missing"
    ASSERT_TRUE(pki.has_value()) << pki.error().to_string();
    pki_ = new DemoPki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  static std::string path(const std::string& file) { return pki_->path(file); }

  static std::vector<X509Ptr> certs(const std::string& file) {
    auto loaded = load_certificates(path(file));
    EXPECT_TRUE(loaded.has_value()) << loaded.error().to_string();
    return loaded ? std::move(*loaded) : std::vector<X509Ptr>{};
  }

  /// X509_verify_cert of the first certificate of `leaf_file`, with the rest of that file and
  /// `intermediates_file` (optional) as untrusted helpers. Returns X509_V_OK or the error.
  static int verify(const std::string& trusted_file, const std::string& intermediates_file,
                    const std::string& leaf_file, int purpose) {
    X509StorePtr store(X509_STORE_new());
    for (const auto& ca : certs(trusted_file)) X509_STORE_add_cert(store.get(), ca.get());
    std::vector<X509Ptr> chain = certs(leaf_file);
    if (chain.empty()) return -1;
    std::vector<X509Ptr> untrusted;
    for (std::size_t i = 1; i < chain.size(); ++i) untrusted.push_back(std::move(chain[i]));
    if (!intermediates_file.empty()) {
      for (auto& c : certs(intermediates_file)) untrusted.push_back(std::move(c));
    }
    X509StackPtr stack = make_x509_stack(untrusted);
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!stack || !ctx ||
        X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), stack.get()) != 1) {
      return -1;
    }
    if (purpose != 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
    return X509_verify_cert(ctx.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  }

  static int client_verify(const std::string& name, bool with_intermediates = true) {
    return verify(pki_->client_ca_bundle, with_intermediates ? pki_->client_intermediates : "",
                  name + ".pem", X509_PURPOSE_SSL_CLIENT);
  }

  static int run(const std::string& command) {
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static inline std::string root_;
  static inline DemoPki* pki_ = nullptr;
};

TEST_F(DemoPkiTest, WritesEveryFile) {
  std::vector<std::string> files = {pki_->server_root_ca,       pki_->server_chain,
                                    pki_->server_key,           pki_->client_ca_bundle,
                                    pki_->client_intermediates, pki_->untrusted_root_ca};
  for (std::string_view name : kDemoClientNames) {
    files.push_back(std::string(name) + ".pem");
    files.push_back(std::string(name) + ".key");
  }
  for (const auto& f : files) {
    struct stat st {};
    ASSERT_EQ(::stat(path(f).c_str(), &st), 0) << f;
    const bool is_key = f.ends_with(".key");
    EXPECT_EQ(st.st_mode & 0777, is_key ? 0600u : 0644u) << f;
  }
}

TEST_F(DemoPkiTest, GoodClientVerifiesWithIntermediates) {
  EXPECT_EQ(client_verify("client-good"), X509_V_OK);
}

TEST_F(DemoPkiTest, GoodClientFileCarriesItsIntermediate) {
  // client-good.pem = leaf + intermediate, so the bundle alone is enough.
  EXPECT_EQ(verify(pki_->client_ca_bundle, "", "client-good.pem", X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  auto chain = certs("client-good.pem");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(summarize(chain[0].get()).subject, kDemoClientGoodSubject);
  EXPECT_EQ(summarize(chain[1].get()).subject, kDemoClientIntermediateSubject);
  EXPECT_EQ(summarize(chain[0].get()).extended_key_usage, std::vector<std::string>{"clientAuth"});
}

TEST_F(DemoPkiTest, LeafWithoutIntermediateIsIncomplete) {
  // Only the bundle, and only the leaf: the intermediate is missing.
  X509StorePtr store(X509_STORE_new());
  for (const auto& ca : certs(pki_->client_ca_bundle)) X509_STORE_add_cert(store.get(), ca.get());
  auto chain = certs("client-good.pem");
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), nullptr), 1);
  EXPECT_NE(X509_verify_cert(ctx.get()), 1);
  EXPECT_EQ(X509_STORE_CTX_get_error(ctx.get()), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(DemoPkiTest, ExpiredClientFails) {
  EXPECT_EQ(client_verify("client-expired"), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(DemoPkiTest, NotYetValidClientFails) {
  EXPECT_EQ(client_verify("client-not-yet-valid"), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST_F(DemoPkiTest, ClientWithoutClientAuthEkuFailsThePurpose) {
  EXPECT_EQ(client_verify("client-no-clientauth"), X509_V_ERR_INVALID_PURPOSE);
  // The chain itself is fine: only the purpose is wrong.
  EXPECT_EQ(
      verify(pki_->client_ca_bundle, pki_->client_intermediates, "client-no-clientauth.pem", 0),
      X509_V_OK);
}

TEST_F(DemoPkiTest, UntrustedClientFails) {
  // The client sends its whole chain, up to a root that is not in the bundle.
  EXPECT_EQ(client_verify("client-untrusted"), X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
  // It is a valid certificate, just from another CA.
  EXPECT_EQ(verify(pki_->untrusted_root_ca, "", "client-untrusted.pem", X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  auto chain = certs("client-untrusted.pem");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(summarize(chain[0].get()).issuer, kDemoUntrustedRootSubject);
  EXPECT_EQ(summarize(chain[1].get()).subject, kDemoUntrustedRootSubject);
}

TEST_F(DemoPkiTest, LeafOnlyClientNeedsTheIntermediatesFile) {
  EXPECT_EQ(verify(pki_->client_ca_bundle, "", "client-leaf-only.pem", X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_EQ(verify(pki_->client_ca_bundle, pki_->client_intermediates, "client-leaf-only.pem",
                   X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  EXPECT_EQ(certs("client-leaf-only.pem").size(), 1u);
}

TEST_F(DemoPkiTest, SelfSignedClientFails) {
  // AWS-LC does not call it self-signed (its keyUsage lacks keyCertSign) and only misses its
  // issuer; the verification engine reports it as OpenSSL did.
  EXPECT_EQ(client_verify("client-self-signed"), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  auto chain = certs("client-self-signed.pem");
  ASSERT_EQ(chain.size(), 1u);
  const std::string intermediates = path(pki_->client_intermediates);
  auto store = TrustStore::load(path(pki_->client_ca_bundle), &intermediates, nullptr);
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  const Verdict v = verify_chain(**store, {chain[0].get()}, VerifyPolicy{});
  EXPECT_EQ(v.openssl_error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) << v.detail();
  EXPECT_EQ(v.code, core::DenialCode::MtlsSelfSigned) << v.detail();
  const CertSummary s = summarize(chain[0].get());
  EXPECT_TRUE(s.self_signed);
  EXPECT_FALSE(s.is_ca);
  EXPECT_EQ(s.extended_key_usage, std::vector<std::string>{"clientAuth"});
}

TEST_F(DemoPkiTest, ClientCertificateIsNotTrustedByTheServerRoot) {
  EXPECT_NE(verify(pki_->server_root_ca, "", "client-good.pem", X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
}

TEST_F(DemoPkiTest, ServerChainVerifiesForLocalhost) {
  EXPECT_EQ(verify(pki_->server_root_ca, "", pki_->server_chain, X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
  auto chain = certs(pki_->server_chain);
  ASSERT_EQ(chain.size(), 2u);
  X509* leaf = chain[0].get();
  EXPECT_EQ(X509_check_host(leaf, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_NE(X509_check_host(leaf, "example.com", 0, 0, nullptr), 1);

  const CertSummary s = summarize(leaf);
  EXPECT_EQ(s.subject, kDemoServerLeafSubject);
  EXPECT_EQ(s.issuer, kDemoServerIntermediateSubject);
  EXPECT_EQ(s.sans, (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_EQ(s.extended_key_usage, std::vector<std::string>{"serverAuth"});
  EXPECT_EQ(s.key_usage, std::vector<std::string>{"digitalSignature"});
  EXPECT_EQ(s.key_type, "EC P-256");
  EXPECT_FALSE(s.is_ca);
  EXPECT_GE(s.valid_until - s.valid_from, std::chrono::hours(24 * 365));

  const CertSummary intermediate = summarize(chain[1].get());
  EXPECT_TRUE(intermediate.is_ca);
  EXPECT_FALSE(intermediate.self_signed);
  EXPECT_EQ(intermediate.issuer, kDemoServerRootSubject);
  EXPECT_EQ(s.authority_key_id, intermediate.subject_key_id);

  auto roots = certs(pki_->server_root_ca);
  ASSERT_EQ(roots.size(), 1u);
  const CertSummary root = summarize(roots[0].get());
  EXPECT_EQ(root.subject, kDemoServerRootSubject);
  EXPECT_TRUE(root.is_ca);
  EXPECT_TRUE(root.self_signed);
  EXPECT_EQ(root.key_usage, (std::vector<std::string>{"keyCertSign", "cRLSign"}));
}

TEST_F(DemoPkiTest, KeysMatchTheirCertificates) {
  auto server_key = load_private_key(path(pki_->server_key));
  ASSERT_TRUE(server_key.has_value()) << server_key.error().to_string();
  auto server_chain = certs(pki_->server_chain);
  EXPECT_TRUE(key_matches_certificate(server_key->get(), server_chain[0].get()));
  EXPECT_FALSE(key_matches_certificate(server_key->get(), server_chain[1].get()));
  for (std::string_view name : kDemoClientNames) {
    auto key = load_private_key(path(std::string(name) + ".key"));
    ASSERT_TRUE(key.has_value()) << key.error().to_string();
    auto chain = certs(std::string(name) + ".pem");
    ASSERT_FALSE(chain.empty());
    EXPECT_TRUE(key_matches_certificate(key->get(), chain[0].get())) << name;
    EXPECT_FALSE(key_matches_certificate(key->get(), server_chain[0].get())) << name;
  }
}

TEST_F(DemoPkiTest, SerialsAreRandomSixteenBytes) {
  std::set<std::string> serials;
  for (std::string_view name : kDemoClientNames) {
    auto chain = certs(std::string(name) + ".pem");
    ASSERT_FALSE(chain.empty());
    const std::string serial = summarize(chain[0].get()).serial;
    EXPECT_EQ(serial.size(), 32u) << serial;
    serials.insert(serial);
  }
  EXPECT_EQ(serials.size(), std::size(kDemoClientNames));
}

TEST_F(DemoPkiTest, RegeneratingReplacesFiles) {
  const std::string dir = root_ + "/again";
  auto first = generate_demo_pki(dir);
  ASSERT_TRUE(first.has_value());
  auto before = load_certificates(first->path(first->server_chain));
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(::chmod(first->path(first->server_key).c_str(), 0644), 0);
  auto second = generate_demo_pki(dir);
  ASSERT_TRUE(second.has_value());
  auto after = load_certificates(second->path(second->server_chain));
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(summarize((*before)[0].get()).sha256, summarize((*after)[0].get()).sha256);
  struct stat st {};
  ASSERT_EQ(::stat(second->path(second->server_key).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST_F(DemoPkiTest, UnwritableDirectoryIsAnError) {
  auto pki = generate_demo_pki("/proc/portcullis-demo");
  ASSERT_FALSE(pki.has_value());
  EXPECT_NE(pki.error().message.find("/proc/portcullis-demo"), std::string::npos)
      << pki.error().message;
}

TEST_F(DemoPkiTest, OpensslCliAgrees) {
  ASSERT_EQ(run("openssl version"), 0) << "the openssl CLI is required";
  const std::string client = "openssl verify -purpose sslclient -CAfile " +
                             path(pki_->client_ca_bundle) + " -untrusted " +
                             path(pki_->client_intermediates) + " ";
  EXPECT_EQ(run(client + path("client-good.pem")), 0);
  EXPECT_NE(run(client + path("client-expired.pem")), 0);
  EXPECT_NE(run(client + path("client-not-yet-valid.pem")), 0);
  EXPECT_NE(run(client + path("client-no-clientauth.pem")), 0);
  EXPECT_NE(run(client + path("client-untrusted.pem")), 0);
  EXPECT_NE(run(client + path("client-self-signed.pem")), 0);
  EXPECT_EQ(run("openssl verify -purpose sslserver -verify_hostname localhost -CAfile " +
                path(pki_->server_root_ca) + " -untrusted " + path(pki_->server_chain) + " " +
                path(pki_->server_chain)),
            0);
  EXPECT_EQ(run("openssl pkey -noout -in " + path(pki_->server_key)), 0);
  EXPECT_EQ(run("openssl pkey -noout -in " + path("client-good.key")), 0);
}

}  // namespace
}  // namespace portcullis::pki

// inspect: certificates with their facts, keys matched to certificates without key material,
// CSRs with their requested extensions, CRLs with status and signer, chains.
#include "diag/inspect.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "diag/render.h"
#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class InspectTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Inspect Root"));
  pki::IssuedCert leaf_ = [&] {
    pki::CertSpec s = leaf("CN=inspect-leaf", &root_);
    s.sans = {"DNS:inspect.example", "IP:127.0.0.1"};
    return issue(s);
  }();

  InspectReport inspect(const std::string& data, ReadOptions read = {}) {
    return inspect_contents(parse_contents(data, "f.pem", read), std::chrono::system_clock::now());
  }

  /// A CSR for `key` asking for `san` and clientAuth.
  static std::string csr_pem(EVP_PKEY* key, const char* san) {
    X509_REQ* req = X509_REQ_new();
    X509_NAME* name = X509_REQ_get_subject_name(req);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("csr-subject"), -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san));
    sk_X509_EXTENSION_push(exts,
                           X509V3_EXT_conf_nid(nullptr, nullptr, NID_ext_key_usage, "clientAuth"));
    X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_sign(req, key, EVP_sha256());
    pki::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req);
    X509_REQ_free(req);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }
};

TEST_F(InspectTest, CertificatesAndTheirChain) {
  const InspectReport r = inspect(pem(leaf_.cert.get()) + pem(root_.cert.get()));
  ASSERT_EQ(r.entries.size(), 2u);
  ASSERT_TRUE(r.entries[0].cert);
  EXPECT_EQ(r.entries[0].cert_number, 1u);
  const CertFacts& f = *r.entries[0].cert;
  EXPECT_EQ(f.summary.subject, "CN=inspect-leaf");
  EXPECT_EQ(f.summary.sans, (std::vector<std::string>{"DNS:inspect.example", "IP:127.0.0.1"}));
  EXPECT_EQ(f.signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_EQ(f.signature_hash, "SHA256");
  EXPECT_FALSE(f.weak_signature_hash);
  EXPECT_EQ(f.key_bits, 256);
  EXPECT_EQ(f.version, 3);
  ASSERT_EQ(r.chains.size(), 1u);
  EXPECT_EQ(r.chains[0].members, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(r.chains[0].ends_at_root);
}

TEST_F(InspectTest, KeyIsMatchedAndNeverPrinted) {
  const std::string key_pem = pki::private_key_to_pem(leaf_.key.get());
  const InspectReport r = inspect(pem(root_.cert.get()) + pem(leaf_.cert.get()) + key_pem);
  ASSERT_EQ(r.entries.size(), 3u);
  ASSERT_TRUE(r.entries[2].key);
  EXPECT_TRUE(r.entries[2].key->is_private);
  EXPECT_EQ(r.entries[2].key->type, "EC P-256");
  EXPECT_EQ(r.entries[2].key->matches_certificates, (std::vector<std::size_t>{2}));
  // The base64 of the key appears in neither rendering.
  const std::string body = key_pem.substr(key_pem.find('\n') + 1, 40);
  EXPECT_EQ(inspect_text(r).find(body), std::string::npos);
  EXPECT_EQ(inspect_json(r).dump().find(body), std::string::npos);
}

TEST_F(InspectTest, CertificateRequest) {
  const InspectReport r = inspect(csr_pem(leaf_.key.get(), "DNS:wanted.example"));
  ASSERT_EQ(r.entries.size(), 1u);
  ASSERT_TRUE(r.entries[0].csr);
  const CsrFacts& c = *r.entries[0].csr;
  EXPECT_EQ(c.subject, "CN=csr-subject");
  EXPECT_TRUE(c.signature_valid);
  EXPECT_EQ(c.sans, std::vector<std::string>{"DNS:wanted.example"});
  EXPECT_EQ(c.extended_key_usage, std::vector<std::string>{"clientAuth"});
  EXPECT_EQ(c.key_type, "EC P-256");
}

TEST_F(InspectTest, CrlStatusAndSigner) {
  pki::CrlSpec spec;
  spec.issuer_cert = root_.cert.get();
  spec.issuer_key = root_.key.get();
  spec.revoked = {leaf_.cert.get()};
  spec.crl_number = 42;
  auto crl = pki::issue_crl(spec);
  ASSERT_TRUE(crl);
  spec.last_update = -10 * kDay;
  spec.next_update = -2 * kDay;
  auto old = pki::issue_crl(spec);
  ASSERT_TRUE(old);
  const InspectReport r =
      inspect(pem(root_.cert.get()) + crl_pem(crl->get()) + crl_pem(old->get()));
  ASSERT_EQ(r.entries.size(), 3u);
  ASSERT_TRUE(r.entries[1].crl);
  const CrlFacts& c = *r.entries[1].crl;
  EXPECT_EQ(c.revoked, 1u);
  EXPECT_EQ(c.crl_number, "2A");
  EXPECT_EQ(c.signed_by_certificate, 1u);
  EXPECT_FALSE(c.expired);
  EXPECT_NE(c.status.find("current"), std::string::npos);
  ASSERT_TRUE(r.entries[2].crl);
  EXPECT_TRUE(r.entries[2].crl->expired);
  EXPECT_NE(r.entries[2].crl->status.find("expired 2 days ago"), std::string::npos);
}

TEST_F(InspectTest, Pkcs12) {
  ReadOptions read;
  read.password = "pw";
  const InspectReport r =
      inspect(pkcs12_der("pw", leaf_.key.get(), leaf_.cert.get(), {root_.cert.get()}), read);
  EXPECT_EQ(r.format, FileFormat::Pkcs12);
  EXPECT_TRUE(r.used_password);
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].kind, ItemKind::PrivateKey);
  EXPECT_EQ(r.entries[0].key->matches_certificates, (std::vector<std::size_t>{1}));
  EXPECT_EQ(r.entries[1].container, "PKCS#12");
}

}  // namespace
}  // namespace portcullis::diag

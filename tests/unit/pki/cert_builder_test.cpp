// The certificate builder: extensions as specified, broken certificates on request (bad
// signature, path length, missing CA bits), CRLs, input validation and file modes.
#include "pki/cert_builder.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pki/cert_files.h"
#include "pki/trust_store.h"
#include "pki/verify.h"

namespace portcullis::pki {
namespace {

/// X509_verify_cert of `leaf` against `root` with `intermediates`; X509_V_OK or the error.
int verify(X509* root, const std::vector<X509*>& intermediates, X509* leaf,
           X509_CRL* crl = nullptr) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root);
  if (crl != nullptr) {
    X509_STORE_add_crl(store.get(), crl);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  std::vector<X509Ptr> owned;
  for (X509* c : intermediates) {
    X509_up_ref(c);
    owned.emplace_back(c);
  }
  X509StackPtr stack = make_x509_stack(owned);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, stack.get()) != 1) return -1;
  return X509_verify_cert(ctx.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

IssuedCert issue(CertSpec spec) {
  auto r = issue_certificate(spec);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? std::move(*r) : IssuedCert{};
}

CertSpec signed_by(const IssuedCert& issuer, std::string subject) {
  CertSpec spec;
  spec.subject = std::move(subject);
  spec.issuer_cert = issuer.cert.get();
  spec.issuer_key = issuer.key.get();
  return spec;
}

CertSpec ca(std::string subject, int path_len = -1) {
  CertSpec spec;
  spec.subject = std::move(subject);
  spec.is_ca = true;
  spec.path_len = path_len;
  return spec;
}

TEST(CertBuilder, GeneratesKeys) {
  auto ec = generate_key(KeyType::EcP256);
  ASSERT_TRUE(ec.has_value());
  EXPECT_EQ(EVP_PKEY_id(ec->get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_bits(ec->get()), 256);
  auto rsa = generate_key(KeyType::Rsa2048);
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(EVP_PKEY_id(rsa->get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_bits(rsa->get()), 2048);
}

TEST(CertBuilder, DefaultsAndExplicitFields) {
  IssuedCert root = issue(ca("CN=Root,O=Example"));
  CertSpec spec = signed_by(root, "CN=svc-billing,OU=Payments,O=Example");
  spec.serial_hex = "1A2B";
  spec.not_before = std::chrono::hours(-2);
  spec.not_after = std::chrono::hours(48);
  spec.extended_key_usage = {"clientAuth", "1.3.6.1.4.1.311.20.2.2"};
  IssuedCert leaf = issue(spec);
  ASSERT_TRUE(leaf.cert);

  const CertSummary s = summarize(leaf.cert.get());
  EXPECT_EQ(s.subject, "CN=svc-billing,OU=Payments,O=Example");
  EXPECT_EQ(s.issuer, "CN=Root,O=Example");
  EXPECT_EQ(s.serial, "1A2B");
  EXPECT_EQ(s.valid_until - s.valid_from, std::chrono::hours(50));
  EXPECT_EQ(s.extended_key_usage, (std::vector<std::string>{"clientAuth", "msSmartcardLogin"}));
  EXPECT_EQ(s.key_usage, std::vector<std::string>{"digitalSignature"});
  EXPECT_FALSE(s.is_ca);
  EXPECT_TRUE(key_matches_certificate(leaf.key.get(), leaf.cert.get()));
  EXPECT_EQ(verify(root.cert.get(), {}, leaf.cert.get()), X509_V_OK);
  EXPECT_EQ(ERR_peek_error(), 0u) << openssl_errors();

  // basicConstraints is critical and says CA:FALSE.
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(leaf.cert.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_EQ(bc->ca, 0);
  BASIC_CONSTRAINTS_free(bc);
}

TEST(CertBuilder, InMemorySelfSignedRootIsConsistent) {
  // Regression: querying the certificate under construction froze OpenSSL's extension cache,
  // and the in-memory root then failed verification with X509_V_ERR_CERT_CHAIN_TOO_LONG.
  IssuedCert root = issue(ca("CN=Root"));
  const CertSummary s = summarize(root.cert.get());
  EXPECT_TRUE(s.self_signed);
  EXPECT_TRUE(s.is_ca);
  EXPECT_EQ(s.authority_key_id, s.subject_key_id);
  EXPECT_FALSE(s.subject_key_id.empty());
  EXPECT_EQ(verify(root.cert.get(), {}, root.cert.get()), X509_V_OK);
}

TEST(CertBuilder, RsaLeafGetsKeyEncipherment) {
  IssuedCert root = issue(ca("CN=Root"));
  CertSpec spec = signed_by(root, "CN=rsa");
  spec.key_type = KeyType::Rsa2048;
  IssuedCert leaf = issue(spec);
  const CertSummary s = summarize(leaf.cert.get());
  EXPECT_EQ(s.key_type, "RSA 2048");
  EXPECT_EQ(s.key_usage, (std::vector<std::string>{"digitalSignature", "keyEncipherment"}));
  EXPECT_EQ(verify(root.cert.get(), {}, leaf.cert.get()), X509_V_OK);
}

TEST(CertBuilder, UsesAGivenKey) {
  auto key = generate_key();
  ASSERT_TRUE(key.has_value());
  CertSpec spec;
  spec.subject = "CN=given";
  spec.key = key->get();
  IssuedCert cert = issue(spec);
  EXPECT_TRUE(key_matches_certificate(key->get(), cert.cert.get()));
  EXPECT_EQ(cert.key.get(), key->get());  // shared, reference counted
}

TEST(CertBuilder, EscapedAndEmptySubjects) {
  CertSpec spec;
  spec.subject = R"(CN=Doe\, Jane,O=Example \+ Co)";
  IssuedCert a = issue(spec);
  EXPECT_EQ(summarize(a.cert.get()).subject, R"(CN=Doe\, Jane,O=Example \+ Co)");

  CertSpec spaced;
  spaced.subject = "CN = spaced, O = Example";
  EXPECT_EQ(summarize(issue(spaced).cert.get()).subject, "CN=spaced,O=Example");

  CertSpec empty;
  empty.subject = "";
  empty.sans = {"DNS:only-san.example"};
  IssuedCert e = issue(empty);
  EXPECT_EQ(summarize(e.cert.get()).subject, "");
  const int idx = X509_get_ext_by_NID(e.cert.get(), NID_subject_alt_name, -1);
  ASSERT_GE(idx, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(e.cert.get(), idx)), 1);
}

TEST(CertBuilder, RejectsBadInput) {
  const auto error_of = [](const CertSpec& spec) {
    auto r = issue_certificate(spec);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  };
  CertSpec bad_subject;
  bad_subject.subject = "not a dn";
  EXPECT_NE(error_of(bad_subject).find("not a dn"), std::string::npos);

  CertSpec bad_type;
  bad_type.subject = "XX=1";
  EXPECT_NE(error_of(bad_type).find("XX"), std::string::npos);

  CertSpec multi;
  multi.subject = "CN=a+UID=b";
  EXPECT_NE(error_of(multi).find("multi-valued"), std::string::npos);

  CertSpec bad_san;
  bad_san.sans = {"dns-without-type"};
  EXPECT_NE(error_of(bad_san).find("has no type"), std::string::npos);
  bad_san.sans = {"IP:not-an-ip"};
  EXPECT_NE(error_of(bad_san).find("IP:not-an-ip"), std::string::npos);
  bad_san.sans = {"otherName:x"};
  EXPECT_NE(error_of(bad_san).find("unsupported type"), std::string::npos);

  CertSpec bad_serial;
  bad_serial.serial_hex = "xyz";
  EXPECT_NE(error_of(bad_serial).find("xyz"), std::string::npos);

  CertSpec bad_eku;
  bad_eku.extended_key_usage = {"noSuchUsage"};
  EXPECT_NE(error_of(bad_eku).find("noSuchUsage"), std::string::npos);

  auto key = generate_key();
  CertSpec half_issuer;
  half_issuer.issuer_key = key->get();
  EXPECT_NE(error_of(half_issuer).find("issuer_cert and issuer_key"), std::string::npos);

  // Failures leave no stale errors behind for the next caller.
  EXPECT_EQ(ERR_peek_error(), 0u) << openssl_errors();
}

TEST(CertBuilder, WrongSigningKeyFailsTheSignature) {
  IssuedCert root = issue(ca("CN=Root"));
  auto other = generate_key();
  CertSpec spec = signed_by(root, "CN=forged");
  spec.issuer_key = other->get();
  IssuedCert forged = issue(spec);
  EXPECT_EQ(verify(root.cert.get(), {}, forged.cert.get()), X509_V_ERR_CERT_SIGNATURE_FAILURE);
}

TEST(CertBuilder, PathLengthIsEnforced) {
  IssuedCert root = issue(ca("CN=Root"));
  CertSpec int_spec = ca("CN=Intermediate", 0);
  int_spec.issuer_cert = root.cert.get();
  int_spec.issuer_key = root.key.get();
  IssuedCert intermediate = issue(int_spec);
  CertSpec sub_spec = ca("CN=Sub CA");
  sub_spec.issuer_cert = intermediate.cert.get();
  sub_spec.issuer_key = intermediate.key.get();
  IssuedCert sub = issue(sub_spec);
  IssuedCert leaf = issue(signed_by(sub, "CN=too-deep"));
  EXPECT_EQ(verify(root.cert.get(), {intermediate.cert.get(), sub.cert.get()}, leaf.cert.get()),
            X509_V_ERR_PATH_LENGTH_EXCEEDED);
  IssuedCert ok = issue(signed_by(intermediate, "CN=fine"));
  EXPECT_EQ(verify(root.cert.get(), {intermediate.cert.get()}, ok.cert.get()), X509_V_OK);
}

TEST(CertBuilder, IssuerWithoutCaBitsIsInvalid) {
  IssuedCert root = issue(ca("CN=Root"));
  CertSpec not_ca = signed_by(root, "CN=Not A CA");
  not_ca.basic_constraints = false;
  not_ca.key_usage = std::vector<std::string>{"digitalSignature"};
  IssuedCert fake = issue(not_ca);
  IssuedCert leaf = issue(signed_by(fake, "CN=leaf"));
  // AWS-LC does not even take it as the leaf's issuer ("unable to get local issuer") ...
  EXPECT_NE(verify(root.cert.get(), {fake.cert.get()}, leaf.cert.get()), X509_V_OK);
  // ... the verification engine names it, at its depth, as OpenSSL did.
  TrustStore::Inputs in;
  X509_up_ref(root.cert.get());
  in.trusted.emplace_back(root.cert.get());
  auto store = TrustStore::from_certificates(std::move(in));
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  VerifyPolicy any_purpose;
  any_purpose.purpose = VerifyPolicy::Any;
  const Verdict v = verify_chain(**store, {leaf.cert.get(), fake.cert.get()}, any_purpose);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.openssl_error, X509_V_ERR_INVALID_CA) << v.detail();
  EXPECT_EQ(v.depth, 1) << v.detail();
  EXPECT_FALSE(summarize(fake.cert.get()).is_ca);
}

TEST(CertBuilder, OmittedExtensions) {
  CertSpec spec;
  spec.key_usage = std::vector<std::string>{};
  spec.key_identifiers = false;
  spec.basic_constraints = false;
  IssuedCert bare = issue(spec);
  EXPECT_LT(X509_get_ext_by_NID(bare.cert.get(), NID_key_usage, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(bare.cert.get(), NID_subject_key_identifier, -1), 0);
  EXPECT_LT(X509_get_ext_by_NID(bare.cert.get(), NID_basic_constraints, -1), 0);
  EXPECT_EQ(X509_get_ext_count(bare.cert.get()), 0);
  EXPECT_TRUE(summarize(bare.cert.get()).key_usage.empty());
}

TEST(CertBuilder, CrlRevokesACertificate) {
  IssuedCert root = issue(ca("CN=Root"));
  IssuedCert revoked = issue(signed_by(root, "CN=revoked"));
  IssuedCert fine = issue(signed_by(root, "CN=fine"));
  CrlSpec crl_spec;
  crl_spec.issuer_cert = root.cert.get();
  crl_spec.issuer_key = root.key.get();
  crl_spec.revoked = {revoked.cert.get()};
  auto crl = issue_crl(crl_spec);
  ASSERT_TRUE(crl.has_value()) << crl.error().to_string();
  EXPECT_EQ(verify(root.cert.get(), {}, revoked.cert.get(), crl->get()), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(root.cert.get(), {}, fine.cert.get(), crl->get()), X509_V_OK);

  CrlSpec missing;
  EXPECT_FALSE(issue_crl(missing).has_value());
}

class CertBuilderFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pki-builder-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static unsigned mode_of(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0u;
  }
  std::string dir_;
};

TEST_F(CertBuilderFiles, WritesPemFilesWithModes) {
  IssuedCert root = issue(ca("CN=Root"));
  IssuedCert leaf = issue(signed_by(root, "CN=leaf"));
  const std::string chain = dir_ + "/chain.pem";
  const std::string key = dir_ + "/leaf.key";
  ASSERT_TRUE(write_certificates(chain, {leaf.cert.get(), root.cert.get()}).has_value());
  // An existing, too-open key file is replaced by a 0600 one.
  { std::ofstream(key) << "old"; }
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  ASSERT_TRUE(write_private_key(key, leaf.key.get()).has_value());
  EXPECT_EQ(mode_of(chain), 0644u);
  EXPECT_EQ(mode_of(key), 0600u);

  auto certs = load_certificates(chain);
  ASSERT_TRUE(certs.has_value());
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), leaf.cert.get()), 0);
  auto loaded_key = load_private_key(key);
  ASSERT_TRUE(loaded_key.has_value()) << loaded_key.error().to_string();
  EXPECT_TRUE(key_matches_certificate(loaded_key->get(), leaf.cert.get()));
  EXPECT_TRUE(private_key_to_pem(leaf.key.get()).starts_with("-----BEGIN PRIVATE KEY-----\n"));

  CrlSpec crl_spec;
  crl_spec.issuer_cert = root.cert.get();
  crl_spec.issuer_key = root.key.get();
  auto crl = issue_crl(crl_spec);
  ASSERT_TRUE(crl.has_value());
  const std::string crl_path = dir_ + "/root.crl.pem";
  ASSERT_TRUE(write_crl(crl_path, crl->get()).has_value());
  BioPtr bio(BIO_new_file(crl_path.c_str(), "r"));
  ASSERT_TRUE(bio);
  X509CrlPtr back(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(back);
  EXPECT_EQ(X509_CRL_verify(back.get(), X509_get0_pubkey(root.cert.get())), 1);
}

TEST_F(CertBuilderFiles, WriteFailureNamesThePath) {
  IssuedCert root = issue(ca("CN=Root"));
  const std::string p = dir_ + "/no/such/dir/root.pem";
  auto r = write_certificates(p, {root.cert.get()});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot write \"" + p + "\": No such file or directory");
}

}  // namespace
}  // namespace portcullis::pki

// TrustStore loading: fail-closed errors naming the file and the certificate, leaves of
// trusted_ca remembered but never anchors, advertised CA names, canonical issuer-DN lookups,
// CRL files.
#include "pki/trust_store.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "pki/cert_builder.h"
#include "pki/cert_files.h"
#include "verify_fixture.h"

namespace portcullis::pki {
namespace {

using testing::pki;
using testing::refs;
using testing::TestPki;

class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pki-trust-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string write(const std::string& name, const std::vector<X509*>& certs) {
    EXPECT_TRUE(write_certificates(path(name), certs).has_value());
    return path(name);
  }
  std::string write_text(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  std::string write_crls(const std::string& name, const std::vector<X509_CRL*>& crls) {
    BioPtr bio(BIO_new_file(path(name).c_str(), "w"));
    for (X509_CRL* crl : crls) PEM_write_bio_X509_CRL(bio.get(), crl);
    return path(name);
  }

  std::string dir_;
};

TEST_F(TrustStoreTest, LoadsAnchorsIntermediatesAndCrls) {
  const TestPki& p = pki();
  const std::string ca = write("client-ca.pem", {p.root.cert.get(), p.other_root.cert.get()});
  const std::string inter = write("intermediates.pem", {p.int1.cert.get(), p.int2.cert.get()});
  const std::string crl = write_crls("crl.pem", {p.int1_crl.get(), p.root_crl.get()});
  auto store = TrustStore::load(ca, &inter, &crl);
  ASSERT_TRUE(store) << store.error().to_string();
  const TrustStore& ts = **store;
  EXPECT_EQ(ts.trusted_cas().size(), 2u);
  EXPECT_EQ(ts.intermediates().size(), 2u);
  EXPECT_EQ(ts.crls().size(), 2u);
  EXPECT_TRUE(ts.has_crls());
  EXPECT_TRUE(ts.trusted_leaves().empty());
  EXPECT_TRUE(ts.warnings().empty()) << ts.warnings().front();
  EXPECT_EQ(ts.trusted_ca_name(), ca);
  EXPECT_EQ(ts.client_ca_names(), (std::vector<std::string>{"CN=Test Root CA,O=Portcullis Test",
                                                            "CN=Other Root CA,O=Elsewhere"}));
  X509NameStackPtr list = ts.client_ca_list();
  ASSERT_TRUE(list);
  EXPECT_EQ(sk_X509_NAME_num(list.get()), 2);
  // Each call is a fresh copy (SSL_CTX_set_client_CA_list takes ownership).
  X509NameStackPtr again = ts.client_ca_list();
  EXPECT_NE(list.get(), again.get());
}

TEST_F(TrustStoreTest, AdvertisedNamesAreDeduplicated) {
  const TestPki& p = pki();
  auto store = p.store({}, {}, refs({p.root.cert.get(), p.root.cert.get()}));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->client_ca_names().size(), 1u);
}

TEST_F(TrustStoreTest, IssuerDnLookupIsCanonical) {
  const TestPki& p = pki();
  auto store = p.store(refs({p.int1.cert.get()}));
  ASSERT_TRUE(store);
  auto exact = parse_distinguished_name("CN=Test Intermediate CA,O=Portcullis Test");
  auto spaced = parse_distinguished_name("CN=test   intermediate ca,O=PORTCULLIS TEST");
  auto other = parse_distinguished_name("CN=Test Intermediate CA,O=Portcullis Tset");
  ASSERT_TRUE(exact && spaced && other);
  EXPECT_TRUE(store->is_ca_subject(exact->get()));
  EXPECT_TRUE(store->is_ca_subject(spaced->get()));  // case and inner spaces fold (RFC 5280 7.1)
  EXPECT_FALSE(store->is_ca_subject(other->get()));
  EXPECT_TRUE(store->is_ca_subject(X509_get_subject_name(p.root.cert.get())));
  EXPECT_EQ(store->ca_subject_strings().size(), 2u);
}

TEST_F(TrustStoreTest, MissingFileNamesIt) {
  auto store = TrustStore::load(path("nope.pem"), nullptr, nullptr);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("nope.pem"), std::string::npos) << store.error().message;
}

TEST_F(TrustStoreTest, EmptyBundleFailsClosed) {
  auto store = TrustStore::load(write_text("empty.pem", "\n\n"), nullptr, nullptr);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("empty.pem"), std::string::npos);
  EXPECT_NE(store.error().message.find("no certificate"), std::string::npos)
      << store.error().message;
}

TEST_F(TrustStoreTest, BundleWithoutCaFailsClosed) {
  const TestPki& p = pki();
  const std::string ca = write("client-ca.pem", {p.leaf1.cert.get(), p.no_eku.cert.get()});
  auto store = TrustStore::load(ca, nullptr, nullptr);
  ASSERT_FALSE(store);
  const std::string& m = store.error().message;
  EXPECT_NE(m.find("\"" + ca + "\": no CA certificate (basicConstraints CA:TRUE)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("certificate 1 (CN=client-one,O=Portcullis Test) is not a CA "
                   "(basicConstraints CA:FALSE)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("certificate 2 (CN=client-no-eku)"), std::string::npos) << m;
}

TEST_F(TrustStoreTest, LeafInBundleIsRememberedNotTrusted) {
  const TestPki& p = pki();
  const std::string ca = write("client-ca.pem", {p.root.cert.get(), p.pinned.cert.get()});
  auto store = TrustStore::load(ca, nullptr, nullptr);
  ASSERT_TRUE(store) << store.error().to_string();
  EXPECT_EQ((*store)->trusted_cas().size(), 1u);
  ASSERT_EQ((*store)->trusted_leaves().size(), 1u);
  EXPECT_TRUE((*store)->is_trusted_leaf(p.pinned.cert.get()));
  EXPECT_FALSE((*store)->is_trusted_leaf(p.leaf1.cert.get()));
  ASSERT_EQ((*store)->warnings().size(), 1u);
  EXPECT_EQ((*store)->warnings().front(),
            "\"" + ca +
                "\": certificate 2 (CN=pinned-client) is not a CA (basicConstraints CA:FALSE): "
                "ignored as a trust anchor");
  // Not advertised either.
  EXPECT_EQ((*store)->client_ca_names().size(), 1u);
}

TEST_F(TrustStoreTest, LeafInIntermediatesIsAnError) {
  const TestPki& p = pki();
  const std::string ca = write("client-ca.pem", {p.root.cert.get()});
  const std::string inter = write("intermediates.pem", {p.int1.cert.get(), p.leaf1.cert.get()});
  auto store = TrustStore::load(ca, &inter, nullptr);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "\"" + inter +
                "\": certificate 2 (CN=client-one,O=Portcullis Test) is not a CA "
                "(basicConstraints CA:FALSE); intermediates must hold CA certificates only");
}

TEST_F(TrustStoreTest, IntermediateWithoutItsRootWarns) {
  const TestPki& p = pki();
  auto store = p.store({}, {}, refs({p.int1.cert.get()}));
  ASSERT_TRUE(store);
  ASSERT_EQ(store->warnings().size(), 1u);
  EXPECT_NE(store->warnings().front().find("its issuer CN=Test Root CA,O=Portcullis Test is not in "
                                           "the file"),
            std::string::npos)
      << store->warnings().front();
}

TEST_F(TrustStoreTest, RootInIntermediatesWarns) {
  const TestPki& p = pki();
  auto store = p.store(refs({p.other_root.cert.get()}));
  ASSERT_TRUE(store);
  ASSERT_EQ(store->warnings().size(), 1u);
  EXPECT_NE(store->warnings().front().find("is a self-signed root"), std::string::npos);
}

TEST_F(TrustStoreTest, ExpiredCaAndCrlWarn) {
  const TestPki& p = pki();
  std::vector<X509CrlPtr> crls;
  crls.push_back(TestPki::crl_ref(p.int1_crl_expired.get()));
  auto store = p.store(refs({p.int1.cert.get(), p.expired_int.cert.get()}), std::move(crls));
  ASSERT_TRUE(store);
  bool expired_ca = false;
  bool expired_crl = false;
  for (const std::string& w : store->warnings()) {
    expired_ca |= w.find("CN=Expired Intermediate CA) expired 2 days ago") != std::string::npos;
    expired_crl |=
        w.find("expired 2 days ago") != std::string::npos && w.find("CRL 1") != std::string::npos;
  }
  EXPECT_TRUE(expired_ca);
  EXPECT_TRUE(expired_crl);
}

TEST_F(TrustStoreTest, CrlWithABadSignatureIsAnError) {
  const TestPki& p = pki();
  // Claims int1 as issuer but is signed by another key.
  CrlSpec spec;
  spec.issuer_cert = p.int1.cert.get();
  spec.issuer_key = p.int2.key.get();
  auto forged = issue_crl(spec);
  ASSERT_TRUE(forged);
  std::vector<X509CrlPtr> crls;
  crls.push_back(std::move(*forged));
  TrustStore::Inputs in;
  in.trusted = refs({p.root.cert.get()});
  in.intermediates = refs({p.int1.cert.get()});
  in.crls = std::move(crls);
  in.crl_name = "revoked.pem";
  auto store = TrustStore::from_certificates(std::move(in));
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "\"revoked.pem\": the signature of CRL 1 (issuer CN=Test Intermediate CA,O=Portcullis "
            "Test) does not verify with the key of CN=Test Intermediate CA,O=Portcullis Test");
}

TEST_F(TrustStoreTest, CrlFileErrors) {
  const TestPki& p = pki();
  const std::string ca = write("client-ca.pem", {p.root.cert.get()});
  const std::string missing = path("missing.crl");
  auto r = TrustStore::load(ca, nullptr, &missing);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.crl"), std::string::npos);

  const std::string certs = write("certs-not-crl.pem", {p.root.cert.get()});
  r = TrustStore::load(ca, nullptr, &certs);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no CRL found"), std::string::npos) << r.error().message;

  const std::string garbage = write_text("garbage.crl", "this is not a CRL\n");
  r = TrustStore::load(ca, nullptr, &garbage);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no CRL found"), std::string::npos) << r.error().message;

  const std::string broken =
      write_text("broken.crl", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  r = TrustStore::load(ca, nullptr, &broken);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("CRL 1 is damaged"), std::string::npos) << r.error().message;
}

TEST_F(TrustStoreTest, DerCrlIsAccepted) {
  const TestPki& p = pki();
  unsigned char* der = nullptr;
  const int len = i2d_X509_CRL(p.root_crl.get(), &der);
  ASSERT_GT(len, 0);
  auto crls = parse_crls(
      std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)), "x.der");
  OPENSSL_free(der);
  ASSERT_TRUE(crls) << crls.error().to_string();
  EXPECT_EQ(crls->size(), 1u);
}

}  // namespace
}  // namespace portcullis::pki

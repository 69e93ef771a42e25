// A test PKI for the verification engine, issued once per test binary with the certificate
// builder: a root, intermediates, and one client certificate (or CA) per verdict to explain.
#pragma once

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pki/cert_builder.h"
#include "pki/trust_store.h"
#include "pki/verify.h"

namespace portcullis::pki::testing {

using std::chrono::hours;
using std::chrono::seconds;
inline constexpr hours kDay{24};

inline IssuedCert must_issue(const CertSpec& spec) {
  auto r = issue_certificate(spec);
  if (!r) ADD_FAILURE() << r.error().to_string();
  return r ? std::move(*r) : IssuedCert{};
}

inline CertSpec ca_spec(std::string subject, const IssuedCert* issuer = nullptr,
                        int path_len = -1) {
  CertSpec spec;
  spec.subject = std::move(subject);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.is_ca = true;
  spec.path_len = path_len;
  return spec;
}

inline CertSpec leaf_spec(std::string subject, const IssuedCert* issuer) {
  CertSpec spec;
  spec.subject = std::move(subject);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.extended_key_usage = {"clientAuth"};
  return spec;
}

/// A new reference to `cert`.
inline X509Ptr ref(X509* cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}

inline std::vector<X509Ptr> refs(std::initializer_list<X509*> certs) {
  std::vector<X509Ptr> out;
  for (X509* c : certs) out.push_back(ref(c));
  return out;
}

/// `cert` with one byte of its signature flipped (re-parsed from the altered DER).
inline X509Ptr tampered(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  EXPECT_GT(len, 10);
  der[len - 3] ^= 0x01;  // inside the signature's last INTEGER
  const unsigned char* p = der;
  X509Ptr out(d2i_X509(nullptr, &p, len));
  OPENSSL_free(der);
  EXPECT_TRUE(out);
  return out;
}

/// The whole test PKI. Subjects are chosen so that hints can be asserted literally.
struct TestPki {
  IssuedCert root = must_issue(ca_spec("CN=Test Root CA,O=Portcullis Test"));
  IssuedCert int1 = must_issue(ca_spec("CN=Test Intermediate CA,O=Portcullis Test", &root));
  IssuedCert int2 = must_issue(ca_spec("CN=Test Sub CA,O=Portcullis Test", &int1));
  IssuedCert leaf1 = must_issue(leaf_spec("CN=client-one,O=Portcullis Test", &int1));
  IssuedCert leaf2 = must_issue(leaf_spec("CN=client-two,O=Portcullis Test", &int2));

  IssuedCert other_root = must_issue(ca_spec("CN=Other Root CA,O=Elsewhere"));
  IssuedCert other_int = must_issue(ca_spec("CN=Other Intermediate CA,O=Elsewhere", &other_root));
  IssuedCert other_leaf = must_issue(leaf_spec("CN=client-other,O=Elsewhere", &other_int));

  IssuedCert self_signed = must_issue(leaf_spec("CN=client-self-signed", nullptr));

  IssuedCert expired = [&] {
    CertSpec s = leaf_spec("CN=client-expired", &int1);
    s.not_before = -30 * kDay;
    s.not_after = -3 * kDay;
    return must_issue(s);
  }();
  IssuedCert expired_recently = [&] {
    CertSpec s = leaf_spec("CN=client-expired-recently", &int1);
    s.not_before = -kDay;
    s.not_after = -seconds(37);
    return must_issue(s);
  }();
  IssuedCert not_yet_valid = [&] {
    CertSpec s = leaf_spec("CN=client-not-yet-valid", &int1);
    s.not_before = 3 * kDay;
    s.not_after = 30 * kDay;
    return must_issue(s);
  }();
  IssuedCert expired_int = [&] {
    CertSpec s = ca_spec("CN=Expired Intermediate CA", &root);
    s.not_before = -30 * kDay;
    s.not_after = -2 * kDay;
    return must_issue(s);
  }();
  IssuedCert leaf_under_expired_int = [&] {
    CertSpec s = leaf_spec("CN=client-under-expired-ca", &expired_int);
    s.not_before = -3 * kDay;  // valid itself
    return must_issue(s);
  }();

  IssuedCert server_only = [&] {
    CertSpec s = leaf_spec("CN=client-server-eku", &int1);
    s.extended_key_usage = {"serverAuth"};
    return must_issue(s);
  }();
  IssuedCert no_eku = [&] {
    CertSpec s = leaf_spec("CN=client-no-eku", &int1);
    s.extended_key_usage = {};
    return must_issue(s);
  }();

  /// Same name as int1 but O differs by a transposition: issues dn_leaf; sent by the client.
  IssuedCert dn_int = must_issue(ca_spec("CN=Test Intermediate CA,O=Portcullis Tset", &root));
  IssuedCert dn_leaf = must_issue(leaf_spec("CN=client-dn", &dn_int));

  IssuedCert revoked = must_issue(leaf_spec("CN=client-revoked", &int1));

  IssuedCert not_ca_int = [&] {
    CertSpec s = ca_spec("CN=Not A CA", &root);
    s.is_ca = false;
    s.key_usage = std::vector<std::string>{"digitalSignature", "keyCertSign"};
    return must_issue(s);
  }();
  IssuedCert leaf_under_not_ca = must_issue(leaf_spec("CN=client-under-non-ca", &not_ca_int));

  IssuedCert pathlen0 = must_issue(ca_spec("CN=PathLen Zero CA", &root, 0));
  IssuedCert below_pathlen0 = must_issue(ca_spec("CN=Below PathLen Zero CA", &pathlen0));
  IssuedCert leaf_pathlen = must_issue(leaf_spec("CN=client-pathlen", &below_pathlen0));

  /// A leaf that an operator put in trusted_ca, and a certificate "issued" by its key.
  IssuedCert pinned = must_issue(leaf_spec("CN=pinned-client", nullptr));
  IssuedCert signed_by_pinned = must_issue(leaf_spec("CN=client-signed-by-pinned", &pinned));

  /// A chain of six intermediates below the root.
  std::vector<IssuedCert> deep = [&] {
    std::vector<IssuedCert> chain;
    chain.reserve(7);
    for (int i = 0; i < 6; ++i) {
      chain.push_back(must_issue(
          ca_spec("CN=Deep CA " + std::to_string(i + 1), i == 0 ? &root : &chain.back())));
    }
    chain.push_back(must_issue(leaf_spec("CN=client-deep", &chain.back())));
    return chain;
  }();

  X509CrlPtr int1_crl = crl(int1, {revoked.cert.get()}, -hours(1), 7 * kDay);
  X509CrlPtr int2_crl = crl(int2, {}, -hours(1), 7 * kDay);
  X509CrlPtr root_crl = crl(root, {}, -hours(1), 7 * kDay);
  X509CrlPtr int1_crl_expired = crl(int1, {}, -10 * kDay, -2 * kDay);

  static X509CrlPtr crl(const IssuedCert& issuer, std::vector<X509*> revoked_certs,
                        std::chrono::seconds last, std::chrono::seconds next) {
    CrlSpec spec;
    spec.issuer_cert = issuer.cert.get();
    spec.issuer_key = issuer.key.get();
    spec.revoked = std::move(revoked_certs);
    spec.last_update = last;
    spec.next_update = next;
    auto r = issue_crl(spec);
    if (!r) ADD_FAILURE() << r.error().to_string();
    return r ? std::move(*r) : X509CrlPtr();
  }

  static X509CrlPtr crl_ref(X509_CRL* crl) {
    X509_CRL_up_ref(crl);
    return X509CrlPtr(crl);
  }

  /// Root only in trusted_ca; optional intermediates file and CRLs.
  std::shared_ptr<const TrustStore> store(std::vector<X509Ptr> intermediates = {},
                                          std::vector<X509CrlPtr> crls = {},
                                          std::vector<X509Ptr> trusted = {}) const {
    TrustStore::Inputs in;
    in.trusted = trusted.empty() ? refs({root.cert.get()}) : std::move(trusted);
    in.trusted_name = "client-ca.pem";
    in.intermediates = std::move(intermediates);
    in.intermediates_name = "intermediates.pem";
    in.crls = std::move(crls);
    in.crl_name = "revoked.crl.pem";
    auto r = TrustStore::from_certificates(std::move(in));
    if (!r) ADD_FAILURE() << r.error().to_string();
    return r ? *r : nullptr;
  }
};

/// Built once: key generation dominates the cost of these tests.
inline const TestPki& pki() {
  static const TestPki* instance = new TestPki();
  return *instance;
}

}  // namespace portcullis::pki::testing

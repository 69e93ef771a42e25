// The bundle checks: every finding code on a bundle built to trigger it, severities, the
// certificate a finding names, and the start-up use (errors refuse, warnings are lines).
#include "diag/bundle_checks.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class BundleChecksTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Bundle Root,O=Test"));
  pki::IssuedCert int_ = issue(ca("CN=Bundle Intermediate,O=Test", &root_));
  pki::IssuedCert leaf_ = issue(leaf("CN=bundle-leaf", &int_));

  BundleReport check(const std::string& data, BundleOptions options = {}) {
    return check_bundle(parse_contents(data, "bundle.pem", {}), options);
  }

  static std::vector<std::string> codes(const BundleReport& r) {
    std::vector<std::string> out;
    for (const Finding& f : r.findings) out.push_back(f.code);
    return out;
  }

  static const Finding* find(const BundleReport& r, std::string_view code) {
    for (const Finding& f : r.findings) {
      if (f.code == code) return &f;
    }
    return nullptr;
  }
};

TEST_F(BundleChecksTest, CleanBundle) {
  const BundleReport r = check(pem(root_.cert.get()) + pem(int_.cert.get()));
  EXPECT_TRUE(r.findings.empty()) << r.findings.front().code << ": " << r.findings.front().message;
  EXPECT_EQ(r.ca_count, 2u);
  EXPECT_EQ(r.root_count, 1u);
  ASSERT_EQ(r.chains.size(), 1u);
  EXPECT_EQ(r.chains[0].members, (std::vector<std::size_t>{1, 0}));
  EXPECT_TRUE(r.chains[0].ends_at_root);
  EXPECT_GT(r.ca_names_bytes, 0u);
}

TEST_F(BundleChecksTest, Empty) {
  const BundleReport r = check("  \n");
  EXPECT_EQ(codes(r), std::vector<std::string>{"bundle.empty"});
  EXPECT_EQ(r.findings[0].severity, Severity::Error);
  EXPECT_EQ(r.error_count(), 1u);
}

TEST_F(BundleChecksTest, PrivateKeyIsAnErrorWithItsLine) {
  const BundleReport r = check(pem(root_.cert.get()) + pki::private_key_to_pem(root_.key.get()));
  const Finding* f = find(r, "bundle.private_key_present");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_GT(f->line, 1);
  EXPECT_FALSE(f->fix.empty());
}

TEST_F(BundleChecksTest, InvalidDataCarriesTheLine) {
  const BundleReport r =
      check(pem(root_.cert.get()) + "MIIBszCCAVmgAwIBAgIQJ2c3\n" + pem(int_.cert.get()));
  const Finding* f = find(r, "bundle.invalid_data");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Error);
  const std::string first = pem(root_.cert.get());
  EXPECT_EQ(f->line, static_cast<int>(std::count(first.begin(), first.end(), '\n')) + 1);
}

TEST_F(BundleChecksTest, NotPemOrDerIsInvalidData) {
  const BundleReport r = check("this is not a certificate\n");
  EXPECT_NE(find(r, "bundle.invalid_data"), nullptr);
  EXPECT_NE(find(r, "bundle.no_ca_certificate"), nullptr);
}

TEST_F(BundleChecksTest, OnlyLeavesIsNoCaCertificate) {
  const BundleReport r = check(pem(leaf_.cert.get()));
  EXPECT_NE(find(r, "bundle.no_ca_certificate"), nullptr);
  const Finding* leaf = find(r, "bundle.leaf_certificate");
  ASSERT_NE(leaf, nullptr);
  ASSERT_TRUE(leaf->cert);
  EXPECT_EQ(leaf->cert->index, 1u);
  EXPECT_EQ(leaf->cert->subject, "CN=bundle-leaf");
  EXPECT_EQ(leaf->cert->sha256.size(), 64u);
  EXPECT_EQ(leaf->severity, Severity::Warning);
}

TEST_F(BundleChecksTest, RootCountWarningOrErrorWithOneRoot) {
  const std::string no_root = pem(int_.cert.get());
  BundleReport r = check(no_root);
  const Finding* f = find(r, "bundle.root_count");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_NE(find(r, "bundle.issuer_missing"), nullptr);
  BundleOptions strict;
  strict.one_root = true;
  r = check(no_root, strict);
  ASSERT_NE(find(r, "bundle.root_count"), nullptr);
  EXPECT_EQ(find(r, "bundle.root_count")->severity, Severity::Error);

  pki::IssuedCert other = issue(ca("CN=Other Root,O=Elsewhere"));
  r = check(pem(root_.cert.get()) + pem(other.cert.get()), strict);
  f = find(r, "bundle.root_count");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("2 self-signed root CAs"), std::string::npos) << f->message;
  EXPECT_NE(find(r, "bundle.multiple_chains"), nullptr);
  EXPECT_TRUE(check(pem(root_.cert.get()), strict).findings.empty());
}

TEST_F(BundleChecksTest, ValidityWarnings) {
  pki::CertSpec expired = ca("CN=Expired CA", &root_);
  expired.not_before = -30 * kDay;
  expired.not_after = -3 * kDay;
  pki::CertSpec future = ca("CN=Future CA", &root_);
  future.not_before = 2 * kDay;
  pki::CertSpec soon = ca("CN=Soon CA", &root_);
  soon.not_after = 10 * kDay;
  pki::CertSpec later = ca("CN=Later CA", &root_);
  later.not_after = 60 * kDay;
  const auto e = issue(expired);
  const auto f = issue(future);
  const auto s = issue(soon);
  const auto l = issue(later);
  const BundleReport r = check(pem(root_.cert.get()) + pem(e.cert.get()) + pem(f.cert.get()) +
                               pem(s.cert.get()) + pem(l.cert.get()));
  ASSERT_NE(find(r, "bundle.ca_expired"), nullptr);
  EXPECT_EQ(find(r, "bundle.ca_expired")->cert->index, 2u);
  EXPECT_NE(find(r, "bundle.ca_expired")->message.find("expired 3 days ago"), std::string::npos);
  ASSERT_NE(find(r, "bundle.ca_not_yet_valid"), nullptr);
  EXPECT_EQ(find(r, "bundle.ca_not_yet_valid")->cert->index, 3u);
  ASSERT_NE(find(r, "bundle.ca_expiring"), nullptr);
  EXPECT_EQ(find(r, "bundle.ca_expiring")->cert->index, 4u);
  EXPECT_EQ(r.error_count(), 0u);

  // The same bundle judged 90 days later: everything but the root has expired.
  BundleOptions later_on;
  later_on.at = std::chrono::system_clock::now() + 90 * kDay;
  std::size_t expired_count = 0;
  for (const Finding& x : check(pem(root_.cert.get()) + pem(l.cert.get()), later_on).findings) {
    expired_count += x.code == "bundle.ca_expired";
  }
  EXPECT_EQ(expired_count, 1u);
}

TEST_F(BundleChecksTest, KeyUsageWithoutKeyCertSignAndMissingKeyUsage) {
  pki::CertSpec no_sign = ca("CN=No Sign CA", &root_);
  no_sign.key_usage = std::vector<std::string>{"cRLSign"};
  pki::CertSpec no_ku = ca("CN=No KU CA", &root_);
  no_ku.key_usage = std::vector<std::string>{};
  const auto a = issue(no_sign);
  const auto b = issue(no_ku);
  const BundleReport r = check(pem(root_.cert.get()) + pem(a.cert.get()) + pem(b.cert.get()));
  std::vector<std::size_t> indexes;
  for (const Finding& f : r.findings) {
    if (f.code == "bundle.ca_without_key_cert_sign") indexes.push_back(f.cert->index);
  }
  EXPECT_EQ(indexes, (std::vector<std::size_t>{2, 3}));
}

TEST_F(BundleChecksTest, DuplicateIsReportedOnce) {
  const BundleReport r = check(pem(root_.cert.get()) + pem(root_.cert.get()));
  const Finding* f = find(r, "bundle.duplicate_certificate");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->cert->index, 2u);
  EXPECT_NE(f->message.find("identical to certificate 1"), std::string::npos);
  EXPECT_EQ(r.root_count, 1u);
  EXPECT_EQ(find(r, "bundle.root_count"), nullptr);
}

TEST_F(BundleChecksTest, WeakSignatureAndSmallRsaKey) {
  auto small = rsa_key(1024);
  ASSERT_TRUE(small);
  pki::CertSpec spec = ca("CN=Weak CA", &root_);
  spec.key = small.get();
  auto weak = issue(spec);
  resign(weak.cert.get(), root_.key.get(), EVP_sha1());
  const BundleReport r = check(pem(root_.cert.get()) + pem(weak.cert.get()));
  ASSERT_NE(find(r, "bundle.weak_signature"), nullptr);
  EXPECT_NE(find(r, "bundle.weak_signature")->message.find("SHA1"), std::string::npos)
      << find(r, "bundle.weak_signature")->message;
  ASSERT_NE(find(r, "bundle.rsa_key_too_small"), nullptr);
  EXPECT_NE(find(r, "bundle.rsa_key_too_small")->message.find("1024-bit"), std::string::npos);
}

TEST_F(BundleChecksTest, MissingKeyIdentifiers) {
  pki::CertSpec spec = ca("CN=No Ids CA", &root_);
  spec.key_identifiers = false;
  const auto c = issue(spec);
  const BundleReport r = check(pem(root_.cert.get()) + pem(c.cert.get()));
  ASSERT_NE(find(r, "bundle.missing_ski"), nullptr);
  ASSERT_NE(find(r, "bundle.missing_aki"), nullptr);
  EXPECT_EQ(find(r, "bundle.missing_aki")->cert->index, 2u);
}

TEST_F(BundleChecksTest, NotACertificateAndFormat) {
  pki::CrlSpec spec;
  spec.issuer_cert = root_.cert.get();
  spec.issuer_key = root_.key.get();
  auto crl = pki::issue_crl(spec);
  ASSERT_TRUE(crl);
  const BundleReport r = check(pem(root_.cert.get()) + crl_pem(crl->get()));
  EXPECT_NE(find(r, "bundle.not_a_certificate"), nullptr);
  EXPECT_EQ(r.error_count(), 0u);
  const BundleReport d = check(der(root_.cert.get()));
  EXPECT_EQ(codes(d), std::vector<std::string>{"bundle.format_not_pem"});
}

TEST_F(BundleChecksTest, CaNamesSize) {
  // Two hundred CAs with long names: more than one TLS record of names.
  auto key = pki::generate_key();
  ASSERT_TRUE(key);
  std::string text;
  for (int i = 0; i < 200; ++i) {
    pki::CertSpec spec =
        ca(fmt::format("CN=Bulk CA {:03} with a deliberately long common name,"
                       "OU=Certificate Authorities,O=Example Corporation",
                       i));
    spec.key = key->get();
    text += pem(issue(spec).cert.get());
  }
  const BundleReport r = check(text);
  const Finding* f = find(r, "bundle.ca_names_size");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_GT(r.ca_names_bytes, kCaNamesWarnBytes);
}

TEST_F(BundleChecksTest, ErrorsComeFirst) {
  const BundleReport r = check(pem(leaf_.cert.get()) + pki::private_key_to_pem(leaf_.key.get()));
  ASSERT_GE(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].severity, Severity::Error);
  EXPECT_EQ(r.findings.back().severity, Severity::Warning);
}

TEST_F(BundleChecksTest, EveryCodeHasAFixAndIsDocumented) {
  std::ifstream doc(std::string(PORTCULLIS_SOURCE_DIR) + "/docs/diagnostics.md");
  ASSERT_TRUE(doc) << "docs/diagnostics.md";
  std::stringstream text;
  text << doc.rdbuf();
  for (const FindingSpec& spec : bundle_finding_catalogue()) {
    EXPECT_FALSE(spec.fix.empty()) << spec.code;
    EXPECT_NE(text.str().find("`" + std::string(spec.code) + "`"), std::string::npos)
        << spec.code << " is not documented in docs/diagnostics.md";
  }
}

TEST_F(BundleChecksTest, LoadingRefusesErrorsAndReturnsWarnings) {
  TempDir dir;
  const std::string good = dir.write("good.pem", pem(root_.cert.get()) + pem(leaf_.cert.get()));
  auto warnings = check_trust_bundle_for_loading(good);
  ASSERT_TRUE(warnings) << warnings.error().message;
  ASSERT_FALSE(warnings->empty());
  EXPECT_NE(warnings->front().find("bundle.leaf_certificate"), std::string::npos);

  const std::string bad = dir.write("bad.pem", pem(leaf_.cert.get()));
  auto refused = check_trust_bundle_for_loading(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("bad.pem"), std::string::npos);
  EXPECT_NE(refused.error().message.find("bundle.no_ca_certificate"), std::string::npos);
  EXPECT_NE(refused.error().message.find("no CA certificate"), std::string::npos);

  const std::string binary = dir.write("root.der", der(root_.cert.get()));
  EXPECT_FALSE(check_trust_bundle_for_loading(binary));
}

}  // namespace
}  // namespace portcullis::diag

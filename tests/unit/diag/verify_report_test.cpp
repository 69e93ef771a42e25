// `verify` on files: the gateway's verdict and codes, the chain built with where each
// certificate came from, the policy options, and a refused trust bundle explained by its
// bundle.* code.
#include "diag/verify_report.h"

#include <gtest/gtest.h>

#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class VerifyReportTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Verify Root"));
  pki::IssuedCert int_ = issue(ca("CN=Verify Intermediate", &root_));
  pki::IssuedCert leaf_ = issue(leaf("CN=verify-client", &int_));
  TempDir dir_;
  std::string ca_ = dir_.write("ca.pem", pem(root_.cert.get()));

  VerifyRequest request(const std::string& cert_file) {
    VerifyRequest r;
    r.cert_file = cert_file;
    r.ca_file = ca_;
    return r;
  }
};

TEST_F(VerifyReportTest, AcceptedWithTheChainBuilt) {
  const std::string cert = dir_.write("client.pem", pem(leaf_.cert.get()) + pem(int_.cert.get()));
  auto r = run_verify(request(cert));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->verdict.ok());
  ASSERT_EQ(r->chain.size(), 3u);
  EXPECT_EQ(r->chain[0].role, "leaf");
  EXPECT_EQ(r->chain[0].source, "presented");
  EXPECT_EQ(r->chain[1].role, "intermediate");
  EXPECT_EQ(r->chain[2].role, "trust anchor");
  EXPECT_EQ(r->chain[2].source, "trusted_ca");
  EXPECT_EQ(r->chain[2].facts.summary.subject, "CN=Verify Root");
  EXPECT_EQ(r->presented.size(), 2u);
  EXPECT_EQ(r->trusted_count, 1u);
}

TEST_F(VerifyReportTest, IntermediatesFileAndChainFile) {
  const std::string cert = dir_.write("leaf.pem", pem(leaf_.cert.get()));
  const std::string ints = dir_.write("ints.pem", pem(int_.cert.get()));
  VerifyRequest req = request(cert);
  auto missing = run_verify(req);
  ASSERT_TRUE(missing);
  ASSERT_FALSE(missing->verdict.ok());
  EXPECT_EQ(missing->verdict.code, core::DenialCode::MtlsChainIncomplete);
  EXPECT_NE(missing->verdict.hint.find("CN=Verify Intermediate"), std::string::npos);

  req.intermediates_file = ints;
  auto helped = run_verify(req);
  ASSERT_TRUE(helped);
  EXPECT_TRUE(helped->verdict.ok());
  EXPECT_EQ(helped->chain[1].source, "intermediates");

  VerifyRequest sent = request(cert);
  sent.chain_file = ints;
  auto chained = run_verify(sent);
  ASSERT_TRUE(chained);
  EXPECT_TRUE(chained->verdict.ok());
}

TEST_F(VerifyReportTest, PurposeAndTime) {
  pki::CertSpec spec = leaf("CN=server-only", &int_);
  spec.extended_key_usage = {"serverAuth"};
  const auto server = issue(spec);
  const std::string cert = dir_.write("server.pem", pem(server.cert.get()) + pem(int_.cert.get()));
  VerifyRequest req = request(cert);
  auto r = run_verify(req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verdict.code, core::DenialCode::MtlsPurposeInvalid);
  req.policy.purpose = pki::VerifyPolicy::Server;
  EXPECT_TRUE(run_verify(req)->verdict.ok());
  req.policy.purpose = pki::VerifyPolicy::Any;
  EXPECT_TRUE(run_verify(req)->verdict.ok());

  req.policy.at = std::chrono::system_clock::now() + 400 * kDay;
  auto later = run_verify(req);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->verdict.code, core::DenialCode::MtlsCertExpired);
}

TEST_F(VerifyReportTest, DerAndPkcs12Certificates) {
  const std::string cert = dir_.write("leaf.der", der(leaf_.cert.get()));
  VerifyRequest req = request(cert);
  req.chain_file = dir_.write("int.pem", pem(int_.cert.get()));
  auto r = run_verify(req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->verdict.ok());

  const std::string p12 = dir_.write(
      "client.p12", pkcs12_der("pw", leaf_.key.get(), leaf_.cert.get(), {int_.cert.get()}));
  VerifyRequest preq = request(p12);
  preq.read.password = "pw";
  auto p = run_verify(preq);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->verdict.ok());
}

TEST_F(VerifyReportTest, RefusedTrustBundleCarriesABundleCode) {
  VerifyRequest req = request(dir_.write("leaf.pem", pem(leaf_.cert.get())));
  req.ca_file = dir_.write("leaves.pem", pem(leaf_.cert.get()));
  auto r = run_verify(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "bundle.no_ca_certificate");
  EXPECT_FALSE(r.error().fix.empty());
  EXPECT_NE(r.error().message.find("leaves.pem"), std::string::npos);
}

TEST_F(VerifyReportTest, UnreadableCertificateIsAnError) {
  auto r = run_verify(request(dir_.path() + "/missing.pem"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.pem"), std::string::npos);
  EXPECT_TRUE(r.error().code.empty());
  auto empty = run_verify(request(dir_.write("empty.pem", "")));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::diag

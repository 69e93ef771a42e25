// Rendering: the JSON fields the documentation promises, and the text lines operators read
// (code, fix, certificate, chain).
#include "diag/render.h"

#include <gtest/gtest.h>

#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class RenderTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Render Root"));
  pki::IssuedCert leaf_ = issue(leaf("CN=render-leaf", &root_));
  TempDir dir_;
};

TEST_F(RenderTest, BundleJsonAndText) {
  const BundleReport r =
      check_bundle(parse_contents(pem(root_.cert.get()) + pem(leaf_.cert.get()), "b.pem", {}), {});
  const auto j = bundle_json(r);
  EXPECT_EQ(j["file"], "b.pem");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["warnings"], 1);
  ASSERT_EQ(j["certificates"].size(), 2u);
  EXPECT_EQ(j["certificates"][0]["index"], 1);
  EXPECT_EQ(j["certificates"][0]["line"], 1);
  EXPECT_EQ(j["certificates"][0]["role"], "root CA");
  const auto& f = j["findings"][0];
  EXPECT_EQ(f["code"], "bundle.leaf_certificate");
  EXPECT_EQ(f["severity"], "warning");
  EXPECT_EQ(f["certificate"]["index"], 2);
  EXPECT_EQ(f["certificate"]["subject"], "CN=render-leaf");
  EXPECT_FALSE(f["fix"].get<std::string>().empty());
  const std::string text = bundle_text(r);
  EXPECT_NE(text.find("warning bundle.leaf_certificate [certificate 2]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("fix: "), std::string::npos);
  EXPECT_NE(text.find("OK: 0 errors, 1 warning"), std::string::npos) << text;
}

TEST_F(RenderTest, VerifyJsonRejected) {
  pki::IssuedCert other = issue(ca("CN=Other Root"));
  VerifyRequest req;
  req.cert_file = dir_.write("leaf.pem", pem(leaf_.cert.get()));
  req.ca_file = dir_.write("ca.pem", pem(other.cert.get()));
  auto r = run_verify(req);
  ASSERT_TRUE(r);
  const auto j = verify_json(*r);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["code"], "mtls.chain_incomplete");
  EXPECT_EQ(j["ssl_client_verify"], "FAILED:mtls.chain_incomplete");
  EXPECT_FALSE(j["hint"].get<std::string>().empty());
  EXPECT_FALSE(j["fix"].get<std::string>().empty());
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["depth"], 0);
  EXPECT_EQ(j["leaf"]["subject"], "CN=render-leaf");
  EXPECT_EQ(j["policy"]["purpose"], "client");
  EXPECT_FALSE(j["issues"].empty());
  const std::string text = verify_text(*r);
  EXPECT_EQ(text.rfind("REJECTED  mtls.chain_incomplete: ", 0), 0u) << text;
  EXPECT_NE(text.find("\nhint      "), std::string::npos);
  EXPECT_NE(text.find("\nfix       "), std::string::npos);
}

TEST_F(RenderTest, VerifyJsonAccepted) {
  VerifyRequest req;
  req.cert_file = dir_.write("leaf.pem", pem(leaf_.cert.get()));
  req.ca_file = dir_.write("ca.pem", pem(root_.cert.get()));
  auto r = run_verify(req);
  ASSERT_TRUE(r);
  const auto j = verify_json(*r);
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_TRUE(j["code"].is_null());
  ASSERT_EQ(j["chain"].size(), 2u);
  EXPECT_EQ(j["chain"][1]["position"], "trust anchor");
  EXPECT_EQ(j["chain"][1]["source"], "trusted_ca");
  EXPECT_EQ(verify_text(*r).rfind("ACCEPTED", 0), 0u);
}

}  // namespace
}  // namespace portcullis::diag

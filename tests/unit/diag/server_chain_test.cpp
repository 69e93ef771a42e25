// The start-up check of a server certificate file: order, gaps, nothing after the root, and the
// leaf-only warning.
#include "diag/server_chain.h"

#include <gtest/gtest.h>

#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class ServerChainTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Server Root"));
  pki::IssuedCert int_ = issue(ca("CN=Server Intermediate", &root_));
  pki::IssuedCert leaf_ = issue(leaf("CN=server.example", &int_));

  static std::vector<pki::X509Ptr> refs(std::initializer_list<X509*> certs) {
    std::vector<pki::X509Ptr> out;
    for (X509* c : certs) {
      X509_up_ref(c);
      out.emplace_back(c);
    }
    return out;
  }
};

TEST_F(ServerChainTest, InOrderIsClean) {
  auto r = check_server_chain(refs({leaf_.cert.get(), int_.cert.get()}), "chain.pem");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
  r = check_server_chain(refs({leaf_.cert.get(), int_.cert.get(), root_.cert.get()}), "c.pem");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST_F(ServerChainTest, LeafOnlyIsAWarning) {
  auto r = check_server_chain(refs({leaf_.cert.get()}), "leaf.pem");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NE(r->front().find("holds only the leaf"), std::string::npos);
  EXPECT_NE(r->front().find("CN=Server Intermediate"), std::string::npos);
  // A self-signed certificate alone is complete.
  auto self = issue(leaf("CN=self", nullptr));
  auto s = check_server_chain(refs({self.cert.get()}), "self.pem");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->empty());
}

TEST_F(ServerChainTest, OutOfOrderNamesTheCertificates) {
  auto r =
      check_server_chain(refs({leaf_.cert.get(), root_.cert.get(), int_.cert.get()}), "chain.pem");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"chain.pem\": certificates out of order"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("certificate 3 (CN=Server Intermediate)"), std::string::npos);
}

TEST_F(ServerChainTest, GapNamesTheMissingIssuer) {
  auto r = check_server_chain(refs({leaf_.cert.get(), root_.cert.get()}), "chain.pem");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("incomplete"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'CN=Server Intermediate'"), std::string::npos);
}

TEST_F(ServerChainTest, NothingAfterTheRoot) {
  auto other = issue(ca("CN=Unrelated"));
  auto r = check_server_chain(
      refs({leaf_.cert.get(), int_.cert.get(), root_.cert.get(), other.cert.get()}), "c.pem");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("follows the self-signed root"), std::string::npos);
}

TEST_F(ServerChainTest, SameNameDifferentKey) {
  auto rekeyed = issue(ca("CN=Server Intermediate", &root_));
  auto r = check_server_chain(refs({leaf_.cert.get(), rekeyed.cert.get()}), "c.pem");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("did not sign it"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace portcullis::diag

// GET /.well-known/jwks.json and POST /auth/verify without sockets: the JWKS and its max-age, the
// raw and JSON bodies, ?audience=, the 401 problem+json codes, and the method and size limits.
#include "net/assertion_endpoints.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace portcullis::net {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const authn::TimePoint kT0 = authn::TimePoint{} + seconds{1'800'000'000};

class AssertionEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = authn::AssertionKeyRing::generated(seconds{100}, seconds{11}, kT0);
    ASSERT_TRUE(ring) << ring.error().to_string();
    signer_ = std::make_shared<authn::AssertionSigner>(std::move(*ring), "portcullis",
                                                       std::vector<std::string>{"app", "other"});
    identity_.method = "jwt";
    identity_.user = "bob";
    token_ = *signer_->sign(
        authn::AssertionRequest{"api", "req-1", "app", seconds{10}, &identity_, {}}, kT0);
  }

  AdminReply ask(std::string_view method, std::string_view target, std::string_view body = {},
                 authn::TimePoint now = kT0) {
    auto reply = answer_assertion_request(*signer_, AdminRequest{method, target, "", body}, now);
    EXPECT_TRUE(reply) << target;
    return reply ? *reply : AdminReply{};
  }

  static std::string header(const AdminReply& reply, std::string_view name) {
    for (const auto& [n, v] : reply.headers) {
      if (n == name) return v;
    }
    return {};
  }

  static std::string code(const AdminReply& reply) {
    if (reply.status == 200) return "ok";
    return json::parse(reply.body).value("code", "?");
  }

  std::shared_ptr<authn::AssertionSigner> signer_;
  core::Identity identity_;
  std::string token_;
};

TEST_F(AssertionEndpointsTest, JwksPublishesTheRingWithAMaxAge) {
  const auto reply = ask("GET", "/.well-known/jwks.json");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/jwk-set+json");
  const json jwks = json::parse(reply.body);
  ASSERT_EQ(jwks["keys"].size(), 1u);
  EXPECT_EQ(jwks["keys"][0]["kid"], signer_->keys(kT0)->current->kid);
  EXPECT_EQ(header(reply, "Cache-Control"), "public, max-age=100");
  // Close to a rotation, caches must come back sooner.
  EXPECT_EQ(header(ask("GET", "/.well-known/jwks.json", {}, kT0 + seconds{97}), "Cache-Control"),
            "public, max-age=3");
  EXPECT_EQ(ask("POST", "/.well-known/jwks.json").status, 405);
}

TEST_F(AssertionEndpointsTest, VerifyRawAndJsonBodies) {
  auto reply = ask("POST", "/auth/verify", token_ + "\n");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/json");
  const json claims = json::parse(reply.body);
  EXPECT_EQ(claims["sub"], "bob");
  EXPECT_EQ(claims["request_id"], "req-1");
  reply = ask("POST", "/auth/verify", json{{"assertion", token_}}.dump());
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(ask("GET", "/auth/verify").status, 405);
}

TEST_F(AssertionEndpointsTest, AudienceFromTheQuery) {
  EXPECT_EQ(code(ask("POST", "/auth/verify?audience=app", token_)), "ok");
  EXPECT_EQ(code(ask("POST", "/auth/verify?audience=billing", token_)), "jwt.audience_mismatch");
  EXPECT_EQ(code(ask("POST", "/auth/verify?x=1&audience=billing&audience=app", token_)), "ok");
  EXPECT_EQ(code(ask("POST", "/auth/verify?audience=%61pp", token_)), "ok");
}

TEST_F(AssertionEndpointsTest, RefusalsAreProblemJsonWithTheJwtCode) {
  const auto reply = ask("POST", "/auth/verify", token_, kT0 + seconds{10});
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.content_type, "application/problem+json");
  const json problem = json::parse(reply.body);
  EXPECT_EQ(problem["code"], "jwt.expired");
  EXPECT_NE(problem.value("detail", "").find("expired at"), std::string::npos) << reply.body;
  EXPECT_EQ(code(ask("POST", "/auth/verify", "")), "jwt.malformed");
  EXPECT_EQ(code(ask("POST", "/auth/verify", R"({"token": "x"})")), "jwt.malformed");
  EXPECT_EQ(code(ask("POST", "/auth/verify", "a.b.c")), "jwt.malformed");
}

TEST_F(AssertionEndpointsTest, BodySizeIsCapped) {
  const auto reply = ask("POST", "/auth/verify", std::string(kMaxVerifyBody + 1, 'a'));
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(code(reply), "request.body_too_large");
}

TEST_F(AssertionEndpointsTest, OtherPathsAreNotOurs) {
  EXPECT_FALSE(answer_assertion_request(*signer_, AdminRequest{"GET", "/healthz", "", ""}, kT0));
  EXPECT_FALSE(
      answer_assertion_request(*signer_, AdminRequest{"GET", "/auth/verify/x", "", ""}, kT0));
}

}  // namespace
}  // namespace portcullis::net

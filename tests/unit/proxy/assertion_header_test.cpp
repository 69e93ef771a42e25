// add_assertion_header on a runtime built from a config: the route's header carries a JWT that
// verifies with the runtime's signer (claims from the identity, the verified certificate's cnf),
// forged copies are replaced or stripped, and routes without `assertion` send nothing.
#include "proxy/assertion_header.h"

#include <gtest/gtest.h>

#include "authn/assertion_verifier.h"

namespace portcullis::proxy {
namespace {

class AssertionHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Config cfg;
    cfg.log.access = config::AccessLogTarget::Off;
    cfg.upstreams["app"].name = "app";
    config::ListenerConfig listener;
    listener.name = "main";
    config::RouteConfig signed_route;
    signed_route.name = "api";
    signed_route.match.path_prefix = "/api/";
    signed_route.upstream = "app";
    signed_route.assertion.emplace();
    signed_route.assertion->header = "X-Identity";
    signed_route.assertion->audience = "app";
    signed_route.assertion->ttl = std::chrono::seconds{30};
    config::RouteConfig plain = signed_route;
    plain.name = "plain";
    plain.match.path_prefix = "/";
    plain.assertion.reset();
    listener.routes = {signed_route, plain};
    cfg.listeners.push_back(listener);
    auto rt = build_runtime(std::move(cfg), metrics_);
    ASSERT_TRUE(rt) << rt.error().to_string();
    runtime_ = *rt;
    ASSERT_TRUE(runtime_->assertion_signer);
  }

  metrics::Registry metrics_;
  std::shared_ptr<const Runtime> runtime_;
};

TEST_F(AssertionHeaderTest, SignsTheRouteHeaderAndBindsTheCertificate) {
  const auto& listener = runtime_->listeners[0];
  HeaderList headers;
  headers.add("X-Identity", "forged");
  headers.add("X-Portcullis-Assertion", "forged");
  headers.add("Accept", "*/*");
  listener.stripper.strip(headers);
  EXPECT_FALSE(headers.get("X-Identity"));
  EXPECT_FALSE(headers.get("X-Portcullis-Assertion"));

  core::Identity identity;
  identity.method = "mtls";
  identity.user = "alice";
  pki::Verdict verdict;
  verdict.outcome = pki::Verdict::Outcome::Success;
  verdict.leaf.sha256 = std::string(64, 'f');
  headers.add("X-Identity", "forged-after-sanitize");
  ASSERT_FALSE(
      add_assertion_header(headers, *runtime_, listener.routes[0], identity, &verdict, "req-42"));
  ASSERT_EQ(headers.count("X-Identity"), 1u);
  const auto token = std::string(*headers.get("X-Identity"));
  const auto claims = authn::verify_assertion(*runtime_->assertion_signer, token, {},
                                              std::chrono::system_clock::now());
  ASSERT_TRUE(claims) << claims.error().detail;
  EXPECT_EQ((*claims)["sub"], "alice");
  EXPECT_EQ((*claims)["route"], "api");
  EXPECT_EQ((*claims)["request_id"], "req-42");
  EXPECT_EQ((*claims)["aud"], "app");
  EXPECT_EQ((*claims)["exp"].get<long long>() - (*claims)["iat"].get<long long>(), 30);
  EXPECT_EQ((*claims)["cnf"]["x5t#S256"], "__________________________________________8");
}

TEST_F(AssertionHeaderTest, FailedVerdictIsNotBoundAndPlainRoutesSendNothing) {
  const auto& listener = runtime_->listeners[0];
  core::Identity anonymous;
  pki::Verdict failed;
  failed.outcome = pki::Verdict::Outcome::Failed;
  failed.leaf.sha256 = std::string(64, 'a');
  HeaderList headers;
  ASSERT_FALSE(
      add_assertion_header(headers, *runtime_, listener.routes[0], anonymous, &failed, "r"));
  const auto claims =
      authn::verify_assertion(*runtime_->assertion_signer, *headers.get("X-Identity"), {},
                              std::chrono::system_clock::now());
  ASSERT_TRUE(claims);
  EXPECT_FALSE(claims->contains("cnf"));
  EXPECT_FALSE(claims->contains("sub"));

  HeaderList plain;
  ASSERT_FALSE(add_assertion_header(plain, *runtime_, listener.routes[1], anonymous, nullptr, "r"));
  EXPECT_TRUE(plain.fields().empty());
}

}  // namespace
}  // namespace portcullis::proxy

// Internal-looking targets sent through a proxy: the warning must appear for each kind of
// internal host and only when a proxy is really chosen (NO_PROXY and `none` silence it).
#include "diag/proxy_warnings.h"

#include <gtest/gtest.h>

namespace portcullis::diag {
namespace {

constexpr std::string_view kHosts = "127.0.0.1 localhost\n10.1.2.3 billing.corp.example # app\n";

TEST(InternalTarget, Reasons) {
  EXPECT_EQ(internal_target_reason("authsvc", kHosts), "a single-label host name");
  EXPECT_EQ(internal_target_reason("BILLING.corp.example", kHosts), "a name listed in /etc/hosts");
  EXPECT_EQ(internal_target_reason("10.0.0.5", kHosts), "a private address (10.0.0.0/8)");
  EXPECT_EQ(internal_target_reason("192.168.1.1", kHosts), "a private address (192.168.0.0/16)");
  EXPECT_EQ(internal_target_reason("127.0.0.1", kHosts), "a loopback address");
  EXPECT_EQ(internal_target_reason("fd00::1", kHosts), "a unique-local IPv6 address (fc00::/7)");
  EXPECT_EQ(internal_target_reason("idp.example.com", kHosts), std::nullopt);
  EXPECT_EQ(internal_target_reason("8.8.8.8", kHosts), std::nullopt);
  EXPECT_EQ(internal_target_reason("app", "# app\n"), "a single-label host name");
}

config::Config config_with(core::ProxyMode mode) {
  config::Config c;
  config::UpstreamConfig up;
  up.name = "app";
  up.endpoints.push_back({"10.0.0.5", 8080, {"upstreams.app.endpoints[0]", 9}});
  up.endpoints.push_back({"api.example.com", 443, {"upstreams.app.endpoints[1]", 9}});
  up.proxy.setting.mode = mode;
  up.proxy.setting.url = core::ProxyUrl{"proxy.corp", 3128, "", ""};
  up.proxy.origin = {"upstreams.app.proxy", 10};
  c.upstreams["app"] = up;
  config::AuthenticatorConfig auth;
  auth.external.emplace();
  auth.external->url = "http://authsvc:9000/check";
  auth.external->proxy = up.proxy;
  auth.external->proxy.origin = {"authenticators.check.proxy", 20};
  c.authenticators["check"] = auth;
  return c;
}

TEST(ProxyWarnings, InternalTargetsThroughAnExplicitProxy) {
  const auto w = proxy_warnings(config_with(core::ProxyMode::Explicit), {}, kHosts);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("upstreams.app.proxy: line 10: upstream \"app\" endpoint 10.0.0.5:8080 "
                      "goes through proxy http://proxy.corp:3128"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[0].find("a private address"), std::string::npos);
  EXPECT_NE(w[1].find("authenticators.check.proxy: line 20: external authenticator \"check\""),
            std::string::npos)
      << w[1];
  EXPECT_NE(w[1].find("a single-label host name"), std::string::npos);
  EXPECT_NE(w[1].find("NO_PROXY"), std::string::npos);
}

TEST(ProxyWarnings, EnvModeHonoursNoProxy) {
  core::ProxyEnv env;
  env.https_proxy = "http://proxy.corp:3128";
  env.http_proxy = "http://proxy.corp:3128";
  EXPECT_EQ(proxy_warnings(config_with(core::ProxyMode::Env), env, kHosts).size(), 2u);
  env.no_proxy = "10.0.0.0/8,authsvc";
  EXPECT_TRUE(proxy_warnings(config_with(core::ProxyMode::Env), env, kHosts).empty());
  EXPECT_TRUE(proxy_warnings(config_with(core::ProxyMode::None), env, kHosts).empty());
}

}  // namespace
}  // namespace portcullis::diag

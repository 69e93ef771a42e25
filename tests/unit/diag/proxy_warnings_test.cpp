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

TEST(InternalTarget, InternalOnlyDomains) {
  EXPECT_EQ(internal_target_reason("auth.internal", kHosts),
            "a name under .internal (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("Billing.CORP", kHosts),
            "a name under .corp (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("printer.local.", kHosts),
            "a name under .local (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("nas.home.arpa", kHosts),
            "a name under .home.arpa (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("x.lan", kHosts), "a name under .lan (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("portal.intranet", kHosts),
            "a name under .intranet (an internal-only domain)");
  EXPECT_EQ(internal_target_reason("db.localdomain", kHosts),
            "a name under .localdomain (an internal-only domain)");
  // Only the last labels count: a public name that merely contains them is not internal.
  EXPECT_EQ(internal_target_reason("internal.example.com", kHosts), std::nullopt);
  EXPECT_EQ(internal_target_reason("corp.example.org", kHosts), std::nullopt);
  EXPECT_EQ(internal_target_reason("mycorp", ""), "a single-label host name");
  EXPECT_EQ(internal_target_reason("mycorp.com", ""), std::nullopt);
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

TEST(ProxyWarnings, StructuredFormMatchesTheText) {
  const auto config = config_with(core::ProxyMode::Explicit);
  const auto entries = internal_targets_via_proxy(config, {}, kHosts);
  const auto texts = proxy_warnings(config, {}, kHosts);
  ASSERT_EQ(entries.size(), texts.size());
  EXPECT_EQ(entries[1].host, "authsvc");
  EXPECT_EQ(entries[1].origin.path, "authenticators.check.proxy");
  EXPECT_EQ(texts[1],
            "authenticators.check.proxy: line 20: " + entries[1].message + "; " + entries[1].fix);
}

}  // namespace
}  // namespace portcullis::diag

// doctor checks that need no files: routes shadowed by an earlier one (host and prefix cover), a
// JWKS URL that cannot be reached with the environment's proxy in the way, each proxy checked
// once, and `proxy: env` deciding with the target's own setting and NO_PROXY.
#include "diag/doctor.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace portcullis::diag {
namespace {

config::RouteConfig route(std::string name, std::string host, std::string prefix) {
  config::RouteConfig r;
  r.name = std::move(name);
  r.match.host = std::move(host);
  r.match.path_prefix = std::move(prefix);
  r.origin = {"listeners[0].routes[" + r.name + "]", 7};
  return r;
}

std::vector<std::string> shadowed(std::vector<config::RouteConfig> routes) {
  config::Config config;
  config::ListenerConfig l;
  l.name = "public";
  l.routes = std::move(routes);
  config.listeners.push_back(l);
  DoctorReport report;
  check_shadowed_routes(config, report);
  std::vector<std::string> out;
  for (const auto& f : report.findings) {
    EXPECT_EQ(f.code, "route.shadowed");
    out.push_back(f.message.substr(7, f.message.find('\'', 7) - 7));
  }
  return out;
}

TEST(ShadowedRoutes, PrefixAndHostCover) {
  using V = std::vector<std::string>;
  EXPECT_EQ(shadowed({route("all", "*", "/"), route("api", "*", "/api/")}), V{"api"});
  EXPECT_EQ(shadowed({route("api", "*", "/api/"), route("all", "*", "/")}), V{});
  EXPECT_EQ(shadowed({route("a", "a.example", "/"), route("b", "b.example", "/x/")}), V{});
  EXPECT_EQ(shadowed({route("a", "A.example", "/"), route("b", "a.example", "/x/")}), V{"b"});
  EXPECT_EQ(shadowed({route("w", "*.example", "/"), route("b", "b.example", "/")}), V{"b"});
  EXPECT_EQ(shadowed({route("w", "*.example", "/"), route("s", "*.a.example", "/")}), V{"s"});
  EXPECT_EQ(shadowed({route("e", "x.a.example", "/"), route("s", "*.a.example", "/")}), V{});
  EXPECT_EQ(shadowed({route("h", "a.example", "/"), route("any", "*", "/")}), V{});
  EXPECT_EQ(shadowed({route("d", "*", "/api"), route("dup", "*", "/api")}), V{"dup"});
}

TEST(Reachability, UnreachableJwksThroughTheEnvironmentProxy) {
  config::Config config;
  config::AuthenticatorConfig a;
  a.name = "tokens";
  a.type = "jwt";
  a.jwt.emplace();
  a.jwt->jwks.url = "https://127.0.0.1:1/jwks.json";
  a.jwt->jwks.origin = {"authenticators.tokens.jwks", 12};
  a.jwt->jwks.proxy.setting.mode = core::ProxyMode::Env;
  a.jwt->jwks.proxy.origin = {"authenticators.tokens.jwks.proxy", 13};
  config.authenticators["tokens"] = a;
  DoctorOptions options;
  options.timeout = std::chrono::milliseconds(1000);

  ::unsetenv("https_proxy");
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  ::setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
  DoctorReport via_proxy;
  check_reachability(config, options, via_proxy);
  ::unsetenv("HTTPS_PROXY");
  bool internal = false, proxy_down = false;
  for (const auto& f : via_proxy.findings) {
    internal = internal || f.code == "proxy.internal_target";
    proxy_down = proxy_down || (f.code == "reach.connect.failed" &&
                                f.message.starts_with("proxy http://127.0.0.1:1"));
  }
  EXPECT_TRUE(internal);
  EXPECT_TRUE(proxy_down);

  DoctorReport direct;
  check_reachability(config, options, direct);
  ASSERT_FALSE(direct.findings.empty());
  EXPECT_EQ(direct.findings.front().code, "reach.connect.failed");
  EXPECT_EQ(direct.findings.front().severity, Severity::Error);
  EXPECT_EQ(direct.findings.front().where, "authenticators.tokens.jwks: line 12");
  EXPECT_NE(direct.findings.front().message.find("JWKS https://127.0.0.1:1/jwks.json"),
            std::string::npos);
  EXPECT_TRUE(direct.has_errors());
}

config::Config two_endpoints_behind(core::ProxyMode mode) {
  config::Config config;
  config::UpstreamConfig u;
  u.name = "app";
  u.endpoints.push_back({"127.0.0.1", 1, {"upstreams.app.endpoints[0]", 4}});
  u.endpoints.push_back({"127.0.0.1", 2, {"upstreams.app.endpoints[1]", 4}});
  u.proxy.setting = {mode, core::ProxyUrl{"127.0.0.1", 1, "", ""}};
  u.proxy.origin = {"upstreams.app.proxy", 5};
  config.upstreams["app"] = u;
  return config;
}

size_t count(const DoctorReport& report, std::string_view code) {
  size_t n = 0;
  for (const auto& f : report.findings) n += f.code == code;
  return n;
}

TEST(Reachability, EachProxyIsCheckedOnceAndTargetsBehindADeadOneAreNotWalked) {
  DoctorOptions options;
  options.timeout = std::chrono::milliseconds(1000);
  DoctorReport report;
  check_reachability(two_endpoints_behind(core::ProxyMode::Explicit), options, report);
  ASSERT_EQ(count(report, "reach.connect.failed"), 1u);
  EXPECT_EQ(count(report, "proxy.internal_target"), 2u);
  for (const auto& f : report.findings) {
    if (f.code != "reach.connect.failed") continue;
    EXPECT_EQ(f.where, "upstreams.app.proxy: line 5");
    EXPECT_TRUE(
        f.message.starts_with("proxy http://127.0.0.1:1 (proxy set explicitly: "
                              "http://127.0.0.1:1; used by upstream app endpoint "))
        << f.message;
  }
  size_t skipped = 0;
  for (const auto& c : report.checked) skipped += c.find("not walked") != std::string::npos;
  EXPECT_EQ(skipped, 2u);
}

TEST(Reachability, EnvModeUsesTheTargetsSettingAndNoProxy) {
  DoctorOptions options;
  options.timeout = std::chrono::milliseconds(1000);
  ::unsetenv("HTTPS_PROXY");
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  ::setenv("no_proxy", "127.0.0.1", 1);
  DoctorReport report;
  check_reachability(two_endpoints_behind(core::ProxyMode::Env), options, report);
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
  // NO_PROXY matches: both endpoints are dialled directly (and fail on their own).
  EXPECT_EQ(count(report, "proxy.internal_target"), 0u);
  ASSERT_EQ(count(report, "reach.connect.failed"), 2u);
  EXPECT_EQ(report.findings[0].where, "upstreams.app.endpoints[0]: line 4");
  EXPECT_TRUE(report.findings[0].message.starts_with("upstream app endpoint 127.0.0.1:1: connect"))
      << report.findings[0].message;
}

}  // namespace
}  // namespace portcullis::diag

// Proxy selection: curl-compatible URL parsing, environment precedence and NO_PROXY rules, since a
// wrong answer sends internal traffic to a proxy (or bypasses a mandatory one).
#include "core/proxy_select.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace portcullis::core {
namespace {

ProxyUrl url(std::string_view text) {
  auto u = parse_proxy_url(text);
  EXPECT_TRUE(u.has_value()) << text << ": " << (u ? "" : u.error().message);
  return u.value_or(ProxyUrl{});
}

TEST(ParseProxyUrl, FullUrlWithCredentials) {
  const ProxyUrl u = url("http://alice:s%40cret%3A1@proxy.corp:3128/");
  EXPECT_EQ(u.host, "proxy.corp");
  EXPECT_EQ(u.port, 3128);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "s@cret:1");
  EXPECT_EQ(u.display(), "http://alice@proxy.corp:3128");
}

TEST(ParseProxyUrl, DefaultPortIsCurls1080AndSchemeOptional) {
  EXPECT_EQ(url("http://proxy").port, 1080);
  const ProxyUrl bare = url("proxy.corp:8080");
  EXPECT_EQ(bare.host, "proxy.corp");
  EXPECT_EQ(bare.port, 8080);
  EXPECT_EQ(bare.display(), "http://proxy.corp:8080");
  EXPECT_EQ(url("HTTP://P:1").host, "P");
}

TEST(ParseProxyUrl, Ipv6Host) {
  const ProxyUrl u = url("http://[::1]:3128");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 3128);
  EXPECT_EQ(u.display(), "http://[::1]:3128");
}

TEST(ParseProxyUrl, DisplayNeverShowsPassword) {
  const ProxyUrl u = url("http://bob:hunter2@p:1");
  EXPECT_EQ(u.display().find("hunter2"), std::string::npos);
}

TEST(ParseProxyUrl, RefusesHttpsSocksAndGarbage) {
  const auto https = parse_proxy_url("https://proxy:443");
  ASSERT_FALSE(https.has_value());
  EXPECT_NE(https.error().message.find("https://"), std::string::npos);
  EXPECT_FALSE(parse_proxy_url("socks5://proxy:1080").has_value());
  EXPECT_FALSE(parse_proxy_url("").has_value());
  EXPECT_FALSE(parse_proxy_url("http://:3128").has_value());
  EXPECT_FALSE(parse_proxy_url("http://p:0").has_value());
  EXPECT_FALSE(parse_proxy_url("http://p:70000").has_value());
  EXPECT_FALSE(parse_proxy_url("http://p:12x").has_value());
  EXPECT_FALSE(parse_proxy_url("http://p:1/path").has_value());
  EXPECT_FALSE(parse_proxy_url("http://u:%zz@p:1").has_value());
  EXPECT_FALSE(parse_proxy_url("http://u:%4@p:1").has_value());
  EXPECT_FALSE(parse_proxy_url("http://[::1:3128").has_value());
}

TEST(NoProxyMatch, DomainSuffixRules) {
  EXPECT_EQ(no_proxy_match("example.com,.corp", "intranet.corp"), ".corp");
  EXPECT_EQ(no_proxy_match("corp.com", "corp.com"), "corp.com");
  EXPECT_EQ(no_proxy_match("corp.com", "a.b.corp.com"), "corp.com");
  EXPECT_EQ(no_proxy_match(".corp.com", "corp.com"), ".corp.com");
  EXPECT_FALSE(no_proxy_match("corp.com", "notcorp.com"));
  EXPECT_FALSE(no_proxy_match("corp.com", "corp.com.evil"));
  EXPECT_FALSE(no_proxy_match("", "corp.com"));
}

TEST(NoProxyMatch, WildcardCaseWhitespaceAndPorts) {
  EXPECT_EQ(no_proxy_match("*", "anything.example"), "*");
  EXPECT_EQ(no_proxy_match("  Intranet.CORP  ", "INTRANET.corp"), "Intranet.CORP");
  EXPECT_EQ(no_proxy_match("a.com:8443, b.com", "a.com"), "a.com:8443");
  EXPECT_EQ(no_proxy_match("a.com b.com", "b.com"), "b.com");
  EXPECT_EQ(no_proxy_match("host.", "host"), "host.");
  EXPECT_EQ(no_proxy_match("host", "host."), "host");
}

TEST(NoProxyMatch, AddressesAndNetworks) {
  EXPECT_EQ(no_proxy_match("10.0.0.0/8", "10.1.2.3"), "10.0.0.0/8");
  EXPECT_FALSE(no_proxy_match("10.0.0.0/8", "11.1.2.3"));
  EXPECT_FALSE(no_proxy_match("10.0.0.0/8", "ten.corp"));
  EXPECT_EQ(no_proxy_match("192.0.2.7", "192.0.2.7"), "192.0.2.7");
  EXPECT_FALSE(no_proxy_match("192.0.2.7", "192.0.2.70"));
  EXPECT_EQ(no_proxy_match("192.0.2.7:80", "192.0.2.7"), "192.0.2.7:80");
  EXPECT_EQ(no_proxy_match("fd00::/8", "[fd12::1]"), "fd00::/8");
  EXPECT_EQ(no_proxy_match("::1", "::1"), "::1");
  EXPECT_EQ(no_proxy_match("[::1]:443", "::1"), "[::1]:443");
  EXPECT_FALSE(no_proxy_match("2.0.192.in-addr", "192.0.2.7"));
}

TEST(ChooseProxy, NoneAndExplicit) {
  ProxyEnv env{"http://envproxy:1", "", ""};
  EXPECT_EQ(choose_proxy({}, "https", "h", env).reason, "proxy: none");
  EXPECT_FALSE(choose_proxy({}, "https", "h", env).proxy);
  ProxySetting explicit_setting{ProxyMode::Explicit, url("http://u:p@px:8080")};
  const ProxyChoice c = choose_proxy(explicit_setting, "https", "h", env);
  ASSERT_TRUE(c.proxy);
  EXPECT_EQ(c.proxy->host, "px");
  EXPECT_EQ(c.reason, "proxy set explicitly: http://u@px:8080");
}

TEST(ChooseProxy, EnvironmentByScheme) {
  ProxyEnv env{"http://sp:3128", "http://plain:3128", ".corp"};
  const ProxySetting setting{ProxyMode::Env, {}};
  const ProxyChoice https = choose_proxy(setting, "https", "api.example", env);
  ASSERT_TRUE(https.proxy);
  EXPECT_EQ(https.proxy->host, "sp");
  EXPECT_EQ(https.reason, "HTTPS_PROXY from the environment: http://sp:3128");
  const ProxyChoice http = choose_proxy(setting, "http", "api.example", env);
  ASSERT_TRUE(http.proxy);
  EXPECT_EQ(http.proxy->host, "plain");
  const ProxyChoice bypass = choose_proxy(setting, "https", "intranet.corp", env);
  EXPECT_FALSE(bypass.proxy);
  EXPECT_EQ(bypass.reason, "NO_PROXY entry '.corp' matches intranet.corp: direct connection");
  ProxyEnv empty;
  EXPECT_FALSE(choose_proxy(setting, "https", "x", empty).proxy);
  ProxyEnv bad{"https://tls-proxy:443", "", ""};
  const ProxyChoice invalid = choose_proxy(setting, "https", "x", bad);
  EXPECT_FALSE(invalid.proxy);
  EXPECT_NE(invalid.reason.find("invalid"), std::string::npos);
}

TEST(ProxyEnv, LowerCaseWinsAndUpperHttpProxyIgnored) {
  ::setenv("https_proxy", "http://lower:1", 1);
  ::setenv("HTTPS_PROXY", "http://upper:1", 1);
  ::unsetenv("http_proxy");
  ::setenv("HTTP_PROXY", "http://httpoxy:1", 1);
  ::unsetenv("no_proxy");
  ::setenv("NO_PROXY", ".upper", 1);
  const ProxyEnv env = ProxyEnv::from_environment();
  EXPECT_EQ(env.https_proxy, "http://lower:1");
  EXPECT_EQ(env.http_proxy, "");
  EXPECT_EQ(env.no_proxy, ".upper");
  ::unsetenv("https_proxy");
  EXPECT_EQ(ProxyEnv::from_environment().https_proxy, "http://upper:1");
  for (const char* name : {"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}) ::unsetenv(name);
}

}  // namespace
}  // namespace portcullis::core

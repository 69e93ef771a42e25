// URL parsing of outgoing targets: a wrong host or port here sends keys or credentials requests
// to the wrong place.
#include "core/url.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

Url ok(std::string_view text) {
  auto u = parse_url(text);
  EXPECT_TRUE(u.has_value()) << text << ": " << (u ? "" : u.error().message);
  return u.value_or(Url{});
}

std::string error_of(std::string_view text) {
  auto u = parse_url(text);
  EXPECT_FALSE(u.has_value()) << text;
  return u ? "" : u.error().message;
}

TEST(Url, DefaultsPortFromScheme) {
  const Url a = ok("https://IdP.Example.com/.well-known/jwks.json");
  EXPECT_EQ(a.scheme, "https");
  EXPECT_EQ(a.host, "idp.example.com");
  EXPECT_EQ(a.port, 443);
  EXPECT_EQ(a.target, "/.well-known/jwks.json");
  EXPECT_EQ(a.authority(), "idp.example.com:443");
  EXPECT_EQ(a.text(), "https://idp.example.com/.well-known/jwks.json");
  EXPECT_EQ(ok("http://auth").port, 80);
  EXPECT_EQ(ok("http://auth").target, "/");
}

TEST(Url, ExplicitPortQueryAndFragment) {
  const Url a = ok("http://127.0.0.1:9001/check?x=1#frag");
  EXPECT_EQ(a.port, 9001);
  EXPECT_EQ(a.target, "/check?x=1");
  EXPECT_EQ(a.text(), "http://127.0.0.1:9001/check?x=1");
  EXPECT_EQ(ok("https://h?q").target, "/?q");
}

TEST(Url, Ipv6Literal) {
  const Url a = ok("https://[::1]:8443/keys");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.authority(), "[::1]:8443");
  EXPECT_EQ(a.text(), "https://[::1]:8443/keys");
}

TEST(Url, Refusals) {
  EXPECT_NE(error_of("ftp://x/").find("unsupported scheme \"ftp\""), std::string::npos);
  EXPECT_NE(error_of("idp.example.com/jwks").find("not an absolute URL"), std::string::npos);
  EXPECT_NE(error_of("https://user:pw@h/").find("user information"), std::string::npos);
  EXPECT_NE(error_of("https:///x").find("no host"), std::string::npos);
  EXPECT_NE(error_of("https://h:0/").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("https://h:70000/").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("https://h:8x/").find("bad port"), std::string::npos);
  EXPECT_NE(error_of("https://h/a b").find("whitespace"), std::string::npos);
  EXPECT_NE(error_of("https://[::1/").find("unterminated"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::core

// host:port parsing for listeners (IP literals only) and upstreams (IP or DNS name).
#include "config/endpoint.h"

#include <gtest/gtest.h>

namespace portcullis::config {
namespace {

TEST(ParseEndpoint, ListenAcceptsIpv4AndBracketedIpv6) {
  auto v4 = parse_endpoint("127.0.0.1:8443", EndpointKind::Listen);
  ASSERT_TRUE(v4) << v4.error().to_string();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8443);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:8443");

  auto v6 = parse_endpoint("[::1]:8080", EndpointKind::Listen);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->to_string(), "[::1]:8080");

  auto any = parse_endpoint("0.0.0.0:0", EndpointKind::Listen);
  ASSERT_TRUE(any);
  EXPECT_EQ(any->port, 0);
}

TEST(ParseEndpoint, ListenRejectsNames) {
  const auto r = parse_endpoint("localhost:8443", EndpointKind::Listen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "the address must be an IP literal (a bind never depends on DNS), got \"localhost\"; "
            "expected \"IP:port\" or \"[IPv6]:port\", e.g. 0.0.0.0:8443 or [::]:8443");
}

TEST(ParseEndpoint, ConnectAcceptsNames) {
  auto r = parse_endpoint("app.internal:9000", EndpointKind::Connect);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "app.internal");
  EXPECT_EQ(r->port, 9000);
  EXPECT_TRUE(parse_endpoint("localhost:1", EndpointKind::Connect));
  EXPECT_TRUE(parse_endpoint("[2001:db8::1]:443", EndpointKind::Connect));
}

TEST(ParseEndpoint, RejectsBadForms) {
  EXPECT_EQ(parse_endpoint("::1:8443", EndpointKind::Listen).error().message,
            "IPv6 addresses need brackets, e.g. [::1]:8443, got \"::1:8443\"");
  EXPECT_EQ(
      parse_endpoint("8443", EndpointKind::Listen).error().message,
      "expected \"IP:port\" or \"[IPv6]:port\", e.g. 0.0.0.0:8443 or [::]:8443, got \"8443\"");
  EXPECT_EQ(parse_endpoint("127.0.0.1:65536", EndpointKind::Listen).error().message,
            "port must be between 0 and 65535, got 65536");
  EXPECT_EQ(parse_endpoint("app:0", EndpointKind::Connect).error().message,
            "port must be between 1 and 65535, got 0");
  for (const char* text : {":80", "1.2.3.4:", "1.2.3.4:http", "[::1]", "[::1]80", "[1.2.3.4]:80",
                           "[nope]:80", "1.2.3.4:-1", "1.2.3.4:123456"}) {
    EXPECT_FALSE(parse_endpoint(text, EndpointKind::Connect)) << text;
  }
  EXPECT_FALSE(parse_endpoint("300.1.1.1:80", EndpointKind::Connect));
  EXPECT_FALSE(parse_endpoint("bad_host-.example:80", EndpointKind::Connect));
  EXPECT_FALSE(parse_endpoint("a..b:80", EndpointKind::Connect));
}

TEST(DnsName, Rules) {
  EXPECT_TRUE(is_dns_name("example.com"));
  EXPECT_TRUE(is_dns_name("example.com."));
  EXPECT_TRUE(is_dns_name("my_service.internal"));
  EXPECT_FALSE(is_dns_name(""));
  EXPECT_FALSE(is_dns_name("-a.com"));
  EXPECT_FALSE(is_dns_name("a b"));
  EXPECT_FALSE(is_dns_name("1.2.3.4"));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a')));
  EXPECT_TRUE(is_dns_name(std::string(63, 'a')));
}

}  // namespace
}  // namespace portcullis::config

// IP parsing and CIDR matching: the basis of errors.detail_networks, so a wrong answer leaks
// operator evidence to the wrong peers.
#include "core/ip_network.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

IpNetwork net(std::string_view text) {
  auto n = IpNetwork::parse(text);
  EXPECT_TRUE(n.has_value()) << text;
  return n.value_or(IpNetwork{});
}

TEST(IpAddress, ParsesV4AsMapped) {
  const IpAddress a = ip("192.0.2.7");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.to_string(), "192.0.2.7");
  EXPECT_EQ(a.bytes[10], 0xff);
  EXPECT_EQ(a.bytes[11], 0xff);
  EXPECT_EQ(a.bytes[12], 192);
  EXPECT_EQ(a.bytes[15], 7);
}

TEST(IpAddress, ParsesV6) {
  const IpAddress a = ip("2001:db8::1");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.to_string(), "2001:db8::1");
  EXPECT_EQ(a.bytes[0], 0x20);
  EXPECT_EQ(a.bytes[1], 0x01);
  EXPECT_EQ(a.bytes[15], 0x01);
  EXPECT_EQ(ip("[2001:db8::1]").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("2001:DB8:0:0:0:0:0:1").to_string(), "2001:db8::1");
}

TEST(IpAddress, MappedV6TextIsV4) {
  const IpAddress a = ip("::ffff:10.1.2.3");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.to_string(), "10.1.2.3");
}

TEST(IpAddress, Loopback) {
  EXPECT_TRUE(ip("127.0.0.1").is_loopback());
  EXPECT_TRUE(ip("127.255.0.9").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_TRUE(ip("::ffff:127.0.0.1").is_loopback());
  EXPECT_FALSE(ip("128.0.0.1").is_loopback());
  EXPECT_FALSE(ip("10.0.0.1").is_loopback());
  EXPECT_FALSE(ip("::").is_loopback());
  EXPECT_FALSE(ip("::2").is_loopback());
  EXPECT_FALSE(ip("fe80::1").is_loopback());
}

TEST(IpAddress, RejectsBadInput) {
  for (std::string_view bad :
       {"", " ", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
        "::1::2", "12345::", "[::1", "::1]", "1.2.3.4/32", "gggg::1"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(IpNetwork, V4Cidr) {
  const IpNetwork n = net("10.0.0.0/8");
  EXPECT_EQ(n.prefix, 104);
  EXPECT_TRUE(n.contains(ip("10.0.0.0")));
  EXPECT_TRUE(n.contains(ip("10.255.255.255")));
  EXPECT_FALSE(n.contains(ip("11.0.0.0")));
  EXPECT_FALSE(n.contains(ip("9.255.255.255")));
  EXPECT_FALSE(n.contains(ip("::a00:1")));  // IPv4-compatible, not mapped: a v6 address

  const IpNetwork odd = net("192.168.4.0/22");
  EXPECT_TRUE(odd.contains(ip("192.168.7.255")));
  EXPECT_FALSE(odd.contains(ip("192.168.8.0")));
  EXPECT_FALSE(odd.contains(ip("192.168.3.255")));
}

TEST(IpNetwork, V4AllAndHost) {
  const IpNetwork all = net("0.0.0.0/0");
  EXPECT_TRUE(all.contains(ip("203.0.113.9")));
  EXPECT_FALSE(all.contains(ip("2001:db8::1")));  // only the IPv4 space

  const IpNetwork host = net("203.0.113.9");
  EXPECT_EQ(host.prefix, 128);
  EXPECT_TRUE(host.contains(ip("203.0.113.9")));
  EXPECT_FALSE(host.contains(ip("203.0.113.8")));
  EXPECT_EQ(net("203.0.113.9/32").prefix, 128);
}

TEST(IpNetwork, V6Cidr) {
  const IpNetwork n = net("2001:db8::/32");
  EXPECT_EQ(n.prefix, 32);
  EXPECT_TRUE(n.contains(ip("2001:db8::1")));
  EXPECT_TRUE(n.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n.contains(ip("2001:db9::1")));
  EXPECT_FALSE(n.contains(ip("10.0.0.1")));

  const IpNetwork odd = net("fd00::/7");
  EXPECT_TRUE(odd.contains(ip("fc12::1")));
  EXPECT_TRUE(odd.contains(ip("fdff::1")));
  EXPECT_FALSE(odd.contains(ip("fe00::1")));

  EXPECT_TRUE(net("::/0").contains(ip("2001:db8::1")));
  EXPECT_TRUE(net("::1/128").contains(ip("::1")));
  EXPECT_FALSE(net("::1/128").contains(ip("::2")));
  EXPECT_TRUE(net("[2001:db8::]/48").contains(ip("2001:db8:0:1::")));
}

TEST(IpNetwork, RejectsBadInput) {
  for (std::string_view bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
                               "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/8/8", "::/129", "::1/-0x1",
                               "10.0.0/8", "nonsense/8", "10.0.0.0/999999999999"}) {
    EXPECT_FALSE(IpNetwork::parse(bad).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace portcullis::core

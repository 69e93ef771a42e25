// Header hygiene: raw checks, hop-by-hop removal, identity stripping, forwarding headers.
#include "proxy/header_rules.h"

#include <gtest/gtest.h>

namespace portcullis::proxy {
namespace {

TEST(RawHeaderBlock, AcceptsNormalHeaders) {
  EXPECT_EQ(check_raw_header_block("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n"), "");
}

TEST(RawHeaderBlock, RejectsObsFold) {
  const auto why = check_raw_header_block("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n");
  EXPECT_NE(why.find("obsolete line folding"), std::string::npos) << why;
  EXPECT_NE(why.find("line 3"), std::string::npos) << why;
  EXPECT_NE(check_raw_header_block("GET / HTTP/1.1\r\nHost: a\r\n\tc\r\n\r\n"), "");
}

TEST(RawHeaderBlock, RejectsWhitespaceBeforeFirstField) {
  EXPECT_NE(check_raw_header_block("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), "");
}

TEST(RawHeaderBlock, RejectsNulAndBareCr) {
  EXPECT_NE(check_raw_header_block(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27)), "");
  EXPECT_NE(check_raw_header_block("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), "");
}

TEST(HopByHop, RemovesStandardAndNamedFields) {
  HeaderList h;
  h.add("Connection", "close, X-Secret");
  h.add("Keep-Alive", "timeout=5");
  h.add("TE", "trailers");
  h.add("Upgrade", "websocket");
  h.add("Transfer-Encoding", "chunked");
  h.add("Content-Length", "3");
  h.add("Proxy-Authorization", "Basic eDp5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("Trailer", "X");
  h.add("x-secret", "1");
  h.add("Accept", "*/*");
  remove_hop_by_hop(h);
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.fields()[0].first, "Accept");
}

TEST(HopByHop, ConnectionCannotRemoveHost) {
  HeaderList h;
  h.add("Host", "example.com");
  h.add("Connection", "Host, X-Foo");
  h.add("X-Foo", "1");
  h.add("connection", "HOST");
  remove_hop_by_hop(h);
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.fields()[0].first, "Host");
}

TEST(HopByHop, ManyTokensAndFieldsAreRemovedTogether) {
  // 1 MiB heads hold ~10^5 fields and tokens: removal must not cost their product.
  HeaderList h;
  std::string tokens;
  for (int i = 0; i < 20000; ++i) {
    if (i > 0) tokens += ", ";
    tokens += "X-N" + std::to_string(i);
    h.add("x-n" + std::to_string(i), "v");
    h.add("Keep-" + std::to_string(i), "v");
  }
  h.add("Connection", tokens);
  remove_hop_by_hop(h);
  EXPECT_EQ(h.fields().size(), 20000u);
  EXPECT_EQ(h.fields().front().first, "Keep-0");
}

TEST(IdentityStripper, UnderscoreAndHyphenSpellingsAreTheSameHeader) {
  IdentityHeaderStripper s({"X_My_User"});
  HeaderList h;
  h.add("X-My-User", "mallory");
  h.add("x_my_user", "mallory");
  h.add("X_Auth_User", "root");
  h.add("Accept", "*/*");
  EXPECT_EQ(s.strip(h).size(), 3u);
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.fields()[0].first, "Accept");
}

TEST(IdentityStripper, RemovesConfiguredDefaultAndCertHeaders) {
  IdentityHeaderStripper s({"X-My-User"});
  HeaderList h;
  h.add("x-my-user", "mallory");
  h.add("X-Auth-User", "root");
  h.add("X-Client-Cert-Chain", "...");
  h.add("X-Client-Cert", "...");
  h.add("X-Forwarded-Client-Cert", "...");
  h.add("X-Client-Subject", "CN=admin");
  h.add("Accept", "*/*");
  const auto removed = s.strip(h);
  EXPECT_EQ(removed.size(), 6u);
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.fields()[0].first, "Accept");
}

TEST(Forwarded, AppendsClientAddressAndSetsProtoHost) {
  HeaderList h;
  h.add("X-Forwarded-For", "10.0.0.1");
  h.add("x-forwarded-for", "10.0.0.2");
  h.add("X-Forwarded-Proto", "http");
  add_forwarded_headers(h, "127.0.0.1", true, "example.com:8443");
  EXPECT_EQ(h.get("x-forwarded-for"), "10.0.0.1, 10.0.0.2, 127.0.0.1");
  EXPECT_EQ(h.count("x-forwarded-for"), 1u);
  EXPECT_EQ(h.get("x-forwarded-proto"), "https");
  EXPECT_EQ(h.get("x-forwarded-host"), "example.com:8443");
}

TEST(Forwarded, NoHostRemovesClientForwardedHost) {
  HeaderList h;
  h.add("X-Forwarded-Host", "evil");
  add_forwarded_headers(h, "::1", false, "");
  EXPECT_FALSE(h.get("x-forwarded-host").has_value());
  EXPECT_EQ(h.get("x-forwarded-for"), "::1");
  EXPECT_EQ(h.get("x-forwarded-proto"), "http");
}

}  // namespace
}  // namespace portcullis::proxy

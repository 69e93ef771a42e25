// normalize_host: Host is host[:port] or the request is refused (issue #22).
#include "route/host_header.h"

#include <gtest/gtest.h>

namespace portcullis::route {
namespace {

std::string norm(std::string_view host) {
  auto r = normalize_host(host);
  return r ? *r : "ERROR: " + r.error();
}

TEST(NormalizeHost, AcceptsAndNormalisesNamesAddressesAndPorts) {
  EXPECT_EQ(norm("example.com"), "example.com");
  EXPECT_EQ(norm("Example.COM."), "example.com");
  EXPECT_EQ(norm("ADMIN.example:8443"), "admin.example:8443");
  EXPECT_EQ(norm("admin.example.:80"), "admin.example:80");
  EXPECT_EQ(norm("host:0080"), "host:80");
  EXPECT_EQ(norm("127.0.0.1:9000"), "127.0.0.1:9000");
  EXPECT_EQ(norm("[::1]"), "[::1]");
  EXPECT_EQ(norm("[::1]:8080"), "[::1]:8080");
  EXPECT_EQ(norm("[2001:DB8::1]"), "[2001:db8::1]");
  EXPECT_EQ(norm("my_host.internal"), "my_host.internal");
  EXPECT_EQ(norm("localhost"), "localhost");
}

TEST(NormalizeHost, RefusesEverythingElse) {
  for (const char* h : {"",
                        "admin.example:1:2",
                        "a/b",
                        "a@b",
                        "x@admin.example",
                        "a?b",
                        "a#b",
                        "a,b",
                        "a b",
                        "admin.example ",
                        "example.com:",
                        "example.com:99999",
                        "example.com:8x",
                        "example.com:123456",
                        "[::1",
                        "[zz::1]",
                        "[::1]x",
                        "[::1]:",
                        "[fe80::1%25eth0]",
                        ":80",
                        ".",
                        "a..b",
                        ".a",
                        "a\tb",
                        "a%62",
                        "a\\b",
                        "admin.example/",
                        "\xc3\xa9.example"}) {
    EXPECT_FALSE(normalize_host(h).has_value()) << '"' << h << '"';
  }
}

TEST(NormalizeHost, ErrorsNameTheProblem) {
  EXPECT_EQ(normalize_host("a:1:2").error(),
            "Host header has more than one ':' (only host[:port] is allowed)");
  EXPECT_EQ(normalize_host("a b").error(), "Host header contains whitespace");
  EXPECT_EQ(normalize_host("").error(), "Host header is empty");
}

}  // namespace
}  // namespace portcullis::route

// Router: host patterns, path prefixes, first match wins.
#include "route/router.h"

#include <gtest/gtest.h>

namespace portcullis::route {
namespace {

config::RouteConfig make_route(std::string host, std::string prefix) {
  config::RouteConfig r;
  r.match.host = std::move(host);
  r.match.path_prefix = std::move(prefix);
  return r;
}

TEST(HostMatches, Patterns) {
  EXPECT_TRUE(host_matches("*", "anything"));
  EXPECT_TRUE(host_matches("*", ""));
  EXPECT_TRUE(host_matches("api.example.com", "API.Example.com"));
  EXPECT_TRUE(host_matches("api.example.com", "api.example.com:8443"));
  EXPECT_TRUE(host_matches("api.example.com", "api.example.com."));
  EXPECT_FALSE(host_matches("api.example.com", "www.example.com"));
  EXPECT_TRUE(host_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "badexample.com"));
  EXPECT_TRUE(host_matches("::1", "[::1]:8443"));
  EXPECT_TRUE(host_matches("127.0.0.1", "127.0.0.1:80"));
}

TEST(HostWithoutPort, Forms) {
  EXPECT_EQ(host_without_port("a:1"), "a");
  EXPECT_EQ(host_without_port("a"), "a");
  EXPECT_EQ(host_without_port("[::1]:8443"), "::1");
  EXPECT_EQ(host_without_port("[::1]"), "::1");
}

TEST(Router, FirstMatchWins) {
  Router router({make_route("*", "/api/"), make_route("*", "/api/admin"),
                 make_route("admin.local", "/"), make_route("*", "/")});
  EXPECT_EQ(router.match("x", "/api/admin/users"), 0);  // shadowed route never matches
  EXPECT_EQ(router.match("admin.local", "/other"), 2);
  EXPECT_EQ(router.match("x", "/other"), 3);
  EXPECT_EQ(router.match("x", "/ap"), 3);
}

TEST(Router, NoMatch) {
  Router router({make_route("a.example", "/x/")});
  EXPECT_EQ(router.match("b.example", "/x/1"), -1);
  EXPECT_EQ(router.match("a.example", "/y"), -1);
  EXPECT_EQ(router.match("a.example", "/x"), -1);  // prefix is "/x/": "/x" is not under it
}

TEST(Router, Empty) {
  Router router({});
  EXPECT_EQ(router.match("a", "/"), -1);
}

}  // namespace
}  // namespace portcullis::route

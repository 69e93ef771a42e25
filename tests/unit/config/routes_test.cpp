// load_routes in isolation, with a hand-made listener: the authn checks that the public loader
// cannot reach in this build (client_auth enforcement and authenticator mechanisms are gated).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/sections.h"
#include "config/yaml_reader.h"
#include "config/yaml_tree.h"

namespace portcullis::config {
namespace {

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_.name = "public";
    listener_.origin = Origin{"listeners[0]", 2};
    upstreams_["app"].name = "app";
    authenticators_["users"].name = "users";
  }

  void enable_client_auth(ClientAuthMode mode) {
    listener_.tls.emplace();
    listener_.tls->client_auth.emplace();
    listener_.tls->client_auth->mode = mode;
  }

  std::vector<RouteConfig> load(const std::string& yaml) {
    auto document = parse_yaml(yaml);
    EXPECT_TRUE(document) << document.error().to_string();
    document_ = document ? *document : YamlValue{};
    std::vector<RouteConfig> routes;
    load_routes(Node(&document_, "listeners[0].routes", 5, diagnostics_), listener_,
                RouteReferences{authenticators_, upstreams_}, routes);
    return routes;
  }

  Diagnostics diagnostics_;
  ListenerConfig listener_;
  std::map<std::string, AuthenticatorConfig> authenticators_;
  std::map<std::string, UpstreamConfig> upstreams_;
  YamlValue document_;
};

TEST_F(RoutesTest, MtlsAndKnownAuthenticatorsAreAccepted) {
  enable_client_auth(ClientAuthMode::Require);
  const auto routes = load(R"(- name: api
  authn: [mtls, users]
  upstream: app
)");
  EXPECT_TRUE(diagnostics_.empty()) << diagnostics_.first().to_string();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].authn, (std::vector<std::string>{"mtls", "users"}));
  EXPECT_EQ(routes[0].origin.path, "listeners[0].routes[0]");
  EXPECT_EQ(routes[0].origin.line, 1);
}

TEST_F(RoutesTest, DuplicateAuthenticatorInOneList) {
  enable_client_auth(ClientAuthMode::Request);
  load(R"(- name: api
  authn:
    - users
    - mtls
    - users
  upstream: app
)");
  ASSERT_EQ(diagnostics_.all().size(), 1u);
  EXPECT_EQ(diagnostics_.first().to_string(),
            "listeners[0].routes[0].authn[2]: line 5: authenticator \"users\" is listed twice");
}

TEST_F(RoutesTest, UnknownAuthenticatorListsTheDefinedOnes) {
  load(R"(- name: api
  authn: [tokens]
  upstream: app
)");
  ASSERT_FALSE(diagnostics_.empty());
  EXPECT_EQ(diagnostics_.first().to_string(),
            "listeners[0].routes[0].authn[0]: line 2: unknown authenticator \"tokens\" (defined: "
            "users)");
}

TEST_F(RoutesTest, HostPatterns) {
  load(R"(- { name: a, authn: [], upstream: app, match: { host: "*" } }
- { name: b, authn: [], upstream: app, match: { host: "*.example.com" } }
- { name: c, authn: [], upstream: app, match: { host: "api.example.com" } }
- { name: d, authn: [], upstream: app, match: { host: "10.0.0.1" } }
- { name: e, authn: [], upstream: app, match: { host: "[::1]" } }
)");
  EXPECT_TRUE(diagnostics_.empty()) << diagnostics_.first().to_string();
  for (const char* bad :
       {"api.example.com:8443", "*example.com", "a.*.com", "bad host", "::1", "*.", "[x]"}) {
    Diagnostics fresh;
    diagnostics_ = fresh;
    load(std::string("- { name: a, authn: [], upstream: app, match: { host: \"") + bad +
         "\" } }\n");
    ASSERT_FALSE(diagnostics_.empty()) << bad;
    EXPECT_EQ(diagnostics_.first().where, "listeners[0].routes[0].match.host") << bad;
  }
}

TEST_F(RoutesTest, PathPrefixMustBePlain) {
  load(R"(- { name: a, authn: [], upstream: app, match: { path_prefix: "/a b" } }
)");
  ASSERT_FALSE(diagnostics_.empty());
  EXPECT_EQ(diagnostics_.first().message,
            "path_prefix must be a plain path (no spaces, control characters, '?' or '#'), got "
            "\"/a b\"");
}

TEST_F(RoutesTest, PathPrefixMustBeNormalised) {
  // Requests are routed by their normalised path: these prefixes could never match as written.
  for (const char* bad : {"/a/../b/", "//api/", "/%7Eapi/", "/a%2fb", "/a\\b"}) {
    diagnostics_ = Diagnostics{};
    load(std::string("- { name: a, authn: [], upstream: app, match: { path_prefix: \"") + bad +
         "\" } }\n");
    ASSERT_FALSE(diagnostics_.empty()) << bad;
    EXPECT_EQ(diagnostics_.first().where, "listeners[0].routes[0].match.path_prefix") << bad;
  }
  diagnostics_ = Diagnostics{};
  load(R"(- { name: a, authn: [], upstream: app, match: { path_prefix: "/%7Eapi/" } }
)");
  EXPECT_EQ(diagnostics_.first().message,
            "path_prefix \"/%7Eapi/\" is not in normalised form; request paths are normalised "
            "before routing, write it as \"/~api/\"");
  diagnostics_ = Diagnostics{};
  load(R"(- { name: a, authn: [], upstream: app, match: { path_prefix: "/api/v1;x/" } }
)");
  EXPECT_TRUE(diagnostics_.empty()) << diagnostics_.first().to_string();
}

}  // namespace
}  // namespace portcullis::config

// load_config_text on invalid input: every error names the exact YAML path and 1-based line,
// and the message says what was expected.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

/// A temporary directory with a server certificate and key, removed at the end of the test.
class LoaderErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "portcullis-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    for (const char* file : {"server.pem", "server.key", "ca.pem"}) {
      std::ofstream(dir_ + "/" + file) << "x\n";
    }
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Loads `text`, expects a failure and returns it.
  core::Error error_of(const std::string& text) {
    auto result = load_config_text(text, dir_, "test.yaml");
    EXPECT_FALSE(result) << "loaded although an error was expected:\n" << text;
    return result ? core::Error{} : result.error();
  }

  std::string dir_;
};

#define EXPECT_CONFIG_ERROR(text, where_, line_, message_) \
  do {                                                     \
    const core::Error e_ = error_of(text);                 \
    EXPECT_EQ(e_.where, where_);                           \
    EXPECT_EQ(e_.line, line_);                             \
    EXPECT_EQ(e_.message, message_);                       \
  } while (0)

TEST_F(LoaderErrorTest, UnknownKeyAtTheRoot) {
  EXPECT_CONFIG_ERROR(R"(worker: 2
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)",
                      "worker", 1,
                      "unknown key \"worker\" (expected one of: workers, shutdown_timeout, "
                      "fast_lane, admin, log, errors, listeners, authenticators, upstreams, "
                      "assertion_signing)");
}

TEST_F(LoaderErrorTest, UnknownKeyInTls) {
  const core::Error e = error_of(R"(workers: 1
listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes: []
    tls:
      cert: server.pem
      key: server.key
      certs: server.pem
)");
  EXPECT_EQ(e.to_string(),
            "listeners[0].tls.certs: line 9: unknown key \"certs\" (expected one of: cert, key, "
            "client_auth)");
}

TEST_F(LoaderErrorTest, UnknownKeyInRouteMatch) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        match:
          host: "*"
          prefix: /api/
        authn: []
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].match.prefix", 8,
                      "unknown key \"prefix\" (expected one of: host, path_prefix)");
}

TEST_F(LoaderErrorTest, UnknownKeyInUpstreamTlsAndClientAuth) {
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams:
  app:
    endpoints: ["127.0.0.1:9000"]
    tls:
      ca: ca.pem
      verify: false
)",
                      "upstreams.app.tls.verify", 7,
                      "unknown key \"verify\" (expected one of: ca, sni)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: "127.0.0.1:1"
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: off
        depth: 3
)",
                      "listeners[0].tls.client_auth.depth", 9,
                      "unknown key \"depth\" (expected one of: mode, trusted_ca, intermediates, "
                      "verify_depth, require_client_auth_eku, verify_issuer_dn, crl, "
                      "denial_status)");
}

TEST_F(LoaderErrorTest, WrongScalarTypes) {
  EXPECT_CONFIG_ERROR("workers: two\n", "workers", 1, "expected an integer, got \"two\"");
  EXPECT_CONFIG_ERROR("workers: 2.5\n", "workers", 1, "expected an integer, got \"2.5\"");
  EXPECT_CONFIG_ERROR("workers: 0\n", "workers", 1, "must be between 1 and 1024, got 0");
  EXPECT_CONFIG_ERROR("workers: 99999999999999999999\n", "workers", 1,
                      "integer out of range: 99999999999999999999");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: "127.0.0.1:1"
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: off
        verify_issuer_dn: yes
)",
                      "listeners[0].tls.client_auth.verify_issuer_dn", 9,
                      "expected true or false, got \"yes\"");
}

TEST_F(LoaderErrorTest, MapSequenceScalarMismatches) {
  EXPECT_CONFIG_ERROR("listeners: { name: a }\n", "listeners", 1, "expected a list, got a map");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: "127.0.0.1:1"
    tls: [server.pem, server.key]
)",
                      "listeners[0].tls", 4, "expected a map, got a list");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: [a]
    listen: "127.0.0.1:1"
)",
                      "listeners[0].name", 2, "expected a string, got a list");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - "127.0.0.1:1"
)",
                      "listeners[0]", 2, "expected a map, got \"127.0.0.1:1\"");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: "127.0.0.1:1"
    tls:
)",
                      "listeners[0].tls", 4, "expected a map, got an empty value");
  EXPECT_CONFIG_ERROR("- a\n- b\n", "test.yaml", 0, "expected a map, got a list");
}

TEST_F(LoaderErrorTest, MissingRequiredKeyNamesTheParent) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
)",
                      "listeners[0].tls", 4, "missing required key \"key\"");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
)",
                      "listeners[0]", 2, "missing required key \"listen\"");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams:
  app:
    connect_timeout: 1s
)",
                      "upstreams.app", 3, "missing required key \"endpoints\"");
  EXPECT_CONFIG_ERROR("workers: 1\n", "test.yaml", 0,
                      "missing required key \"listeners\" (at least one listener is required)");
  EXPECT_CONFIG_ERROR("listeners: []\n", "listeners", 1, "at least one listener is required");
}

TEST_F(LoaderErrorTest, AuthnIsRequired) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0]", 5,
                      "missing required key \"authn\" (it is required: use [] for anonymous "
                      "access)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        upstream: app
        authn:
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].authn", 7,
                      "expected a list of authenticator names, got an empty value (required: use "
                      "[] for anonymous access)");
}

TEST_F(LoaderErrorTest, BadDuration) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    limits:
      header_timeout: 10
)",
                      "listeners[0].limits.header_timeout", 5,
                      "duration \"10\" has no unit (use a number and a unit: 500ms, 2s, 1.5s, 1m "
                      "or 1h)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams:
  app:
    endpoints: ["127.0.0.1:9000"]
    connect_timeout: 0s
)",
                      "upstreams.app.connect_timeout", 5, "must be at least 1ms, got 0ms");
  EXPECT_CONFIG_ERROR("shutdown_timeout: 5 minutes\n", "shutdown_timeout", 1,
                      "unknown unit \" minutes\" in duration \"5 minutes\" (use a number and a "
                      "unit: 500ms, 2s, 1.5s, 1m or 1h)");
  EXPECT_CONFIG_ERROR("shutdown_timeout: soon\n", "shutdown_timeout", 1,
                      "expected a duration, got \"soon\" (use a number and a unit: 500ms, 2s, "
                      "1.5s, 1m or 1h)");
}

TEST_F(LoaderErrorTest, BadSize) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: app
        max_body: 10XB
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].max_body", 8,
                      "unknown unit \"XB\" in size \"10XB\" (use bytes or a unit: 512, 16KiB, "
                      "10MiB or 1GiB)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    limits: { max_header_bytes: 100 }
)",
                      "listeners[0].limits.max_header_bytes", 4,
                      "must be between 1KiB and 1MiB, got 100");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    limits: { max_header_bytes: -1 }
)",
                      "listeners[0].limits.max_header_bytes", 4,
                      "sizes cannot be negative, got \"-1\"");
}

TEST_F(LoaderErrorTest, BadCidr) {
  EXPECT_CONFIG_ERROR(R"(errors:
  detail: local
  detail_networks:
    - 10.0.0.0/8
    - 10.0.0.0/33
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)",
                      "errors.detail_networks[1]", 5,
                      "invalid network \"10.0.0.0/33\" (expected an address or a CIDR such as "
                      "10.0.0.0/8 or fd00::/8)");
  EXPECT_CONFIG_ERROR(R"(errors: { detail: sometimes }
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)",
                      "errors.detail", 1,
                      "unknown detail mode \"sometimes\" (expected one of: local, always, never)");
}

TEST_F(LoaderErrorTest, UnknownAuthenticatorName) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: [tokens]
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].authn[0]", 6,
                      "unknown authenticator \"tokens\" (no authenticators are defined)");
}

TEST_F(LoaderErrorTest, MtlsNeedsClientAuth) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls: { cert: server.pem, key: server.key }
    routes:
      - name: open
        authn: []
        upstream: app
      - name: api
        authn: [mtls]
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[1].authn[0]", 10,
                      "\"mtls\" needs listeners[0].tls.client_auth");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth: { mode: off }
    routes:
      - name: api
        authn: [mtls]
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].authn[0]", 10,
                      "\"mtls\" needs listeners[0].tls.client_auth with a mode other than off");
}

TEST_F(LoaderErrorTest, ClientAuthIsValidated) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: yes
)",
                      "listeners[0].tls.client_auth.mode", 8,
                      "unknown mode \"yes\" (expected one of: off, request, require, "
                      "require_handshake)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        mode: require_handshake
)",
                      "listeners[0].tls.client_auth", 7,
                      "missing required key \"trusted_ca\" (the CA bundle client certificates are "
                      "verified against; required unless mode is off)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth:
        trusted_ca: ca.pem
)",
                      "listeners[0].tls.client_auth", 7, "missing required key \"mode\"");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth: { mode: off, verify_depth: 33 }
)",
                      "listeners[0].tls.client_auth.verify_depth", 7,
                      "must be between 1 and 32, got 33");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: server.key
      client_auth: { mode: off, denial_status: 500 }
)",
                      "listeners[0].tls.client_auth.denial_status", 7,
                      "must be between 400 and 499, got 500");
}

TEST_F(LoaderErrorTest, MissingFile) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: missing.key
)",
                      "listeners[0].tls.key", 6,
                      "cannot read \"" + dir_ + "/missing.key\": No such file or directory");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: .
      key: server.key
)",
                      "listeners[0].tls.cert", 5, "cannot read \"" + dir_ + "\": Is a directory");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: /nonexistent/dir/server.pem
      key: server.key
)",
                      "listeners[0].tls.cert", 5,
                      "cannot read \"/nonexistent/dir/server.pem\": No such file or directory");
}

TEST_F(LoaderErrorTest, UnreadableFile) {
  const std::string key = dir_ + "/secret.key";
  std::ofstream(key) << "x\n";
  ASSERT_EQ(::chmod(key.c_str(), 0), 0);
  const auto check = [&] {
    EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: server.pem
      key: secret.key
)",
                        "listeners[0].tls.key", 6,
                        "cannot read \"" + key + "\": Permission denied");
  };
  if (::geteuid() != 0) {
    check();
    return;
  }
  // Root reads files whatever their mode (and CI runs as root): the load runs in a child that
  // dropped to nobody, and reports through its exit status.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  for (const char* file : {"server.pem", "server.key", "ca.pem"}) {
    ASSERT_EQ(::chmod((dir_ + "/" + file).c_str(), 0644), 0);
  }
  EXPECT_EXIT(
      {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(3);
        check();
        std::_Exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(LoaderErrorTest, DuplicateListenerName) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
  - name: public
    listen: 127.0.0.1:8444
)",
                      "listeners[1].name", 4,
                      "duplicate listener name \"public\" (first at listeners[0], line 2)");
}

TEST_F(LoaderErrorTest, DuplicateRouteName) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - { name: api, authn: [], upstream: app }
      - { name: api, authn: [], upstream: app, match: { path_prefix: /x } }
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[1].name", 6,
                      "duplicate route name \"api\" (first at listeners[0].routes[0], line 5)");
}

TEST_F(LoaderErrorTest, DuplicateListenerAddress) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: 127.0.0.1:8443
  - name: b
    listen: 127.0.0.1:8443
)",
                      "listeners[1].listen", 5,
                      "address 127.0.0.1:8443 is already used by listeners[0].listen "
                      "(127.0.0.1:8443, line 3)");
  EXPECT_CONFIG_ERROR(R"(admin: { listen: "127.0.0.1:8443" }
listeners:
  - name: a
    listen: "[::]:8443"
)",
                      "admin.listen", 1,
                      "address 127.0.0.1:8443 overlaps listeners[0].listen ([::]:8443, line 4)");
}

TEST_F(LoaderErrorTest, RequestNormalizationValues) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    request_normalization:
      header_underscores: maybe
)",
                      "listeners[0].request_normalization.header_underscores", 5,
                      "unknown header_underscores \"maybe\" (expected one of: drop, reject)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    request_normalization: { encoded_slash: decode }
)",
                      "listeners[0].request_normalization.encoded_slash", 4,
                      "unknown encoded_slash \"decode\" (expected one of: reject, keep)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    request_normalization: { merge_slashes: false }
)",
                      "listeners[0].request_normalization.merge_slashes", 4,
                      "unknown key \"merge_slashes\" (expected one of: header_underscores, "
                      "encoded_slash)");
}

TEST_F(LoaderErrorTest, PathPrefixWithoutSlash) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        match: { path_prefix: api/ }
        authn: []
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].match.path_prefix", 6,
                      "path_prefix must start with \"/\", got \"api/\"");
}

TEST_F(LoaderErrorTest, UnknownUpstream) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: backend
upstreams:
  app: { endpoints: ["127.0.0.1:9000"] }
  static: { endpoints: ["127.0.0.1:9001"] }
)",
                      "listeners[0].routes[0].upstream", 7,
                      "unknown upstream \"backend\" (defined: app, static)");
}

TEST_F(LoaderErrorTest, YamlSyntaxError) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: [127.0.0.1:1
upstreams: {}
)",
                      "test.yaml", 4,
                      "YAML syntax error: end of sequence flow not found (column 10)");
  const core::Error e = error_of("listeners:\n  a: 1\n b: 2\n");
  EXPECT_EQ(e.where, "test.yaml");
  EXPECT_EQ(e.line, 3);
}

TEST_F(LoaderErrorTest, DuplicateYamlKey) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: a
    listen: 127.0.0.1:1
    name: b
)",
                      "listeners[0].name", 4, "duplicate key \"name\" (first at line 2)");
}

TEST_F(LoaderErrorTest, AuthenticatorTypes) {
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check:
    type: external
    url: http://auth.internal/check
    ca: ca.pem
)",
                      "authenticators.check.ca", 6, "\"ca\" applies to an https:// url only");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check:
    type: external
    url: https://auth.internal/check
    cert: server.pem
)",
                      "authenticators.check.cert", 6, "\"cert\" and \"key\" go together");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check: { type: external, url: "https://auth.internal/", failure_mode: open }
)",
                      "authenticators.check.failure_mode", 3,
                      "unknown failure mode \"open\" (expected one of: deny, allow)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check: { type: external, url: "https://auth.internal/", proxy: "socks5://p:1080" }
)",
                      "authenticators.check.proxy", 3,
                      "unsupported proxy scheme 'socks5://'; only http:// proxies are supported "
                      "(expected none, env or http://[user:password@]host:port)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check: { type: external, url: "auth.internal/check" }
)",
                      "authenticators.check.url", 3,
                      "not an absolute URL (expected http(s)://host)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  check: { type: external, url: "https://a/", copy_headers: [Content-Length] }
)",
                      "authenticators.check.copy_headers[0]", 3,
                      "header \"Content-Length\" is managed by the proxy and cannot carry "
                      "identity");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  users: { type: ldap }
)",
                      "authenticators.users.type", 3,
                      "unknown authenticator type \"ldap\" (expected one of: basic, jwt, "
                      "external)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  users:
    realm: x
)",
                      "authenticators.users", 3, "missing required key \"type\"");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  mtls: { type: jwt }
)",
                      "authenticators.mtls", 3,
                      "the name \"mtls\" is reserved for the listener's client certificate "
                      "verdict");
}

TEST_F(LoaderErrorTest, BasicAndJwtSettings) {
  const core::Error missing = error_of(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  users:
    type: basic
    htpasswd: users.htpasswd
)");
  EXPECT_EQ(missing.where, "authenticators.users.htpasswd");
  EXPECT_EQ(missing.line, 5);
  EXPECT_NE(missing.message.find("users.htpasswd\": No such file or directory"), std::string::npos)
      << missing.message;
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  users:
    type: basic
    htpasswd: server.key
    lockout: { failures: 0 }
)",
                      "authenticators.users.lockout.failures", 6,
                      "must be between 1 and 1000, got 0");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  tokens:
    type: jwt
    issuer: https://idp/
    audiences: [api]
    jwks: { file: ca.pem }
    algorithms: [none]
)",
                      "authenticators.tokens.algorithms[0]", 8,
                      "unsupported algorithm \"none\" (expected: RS256, RS384, RS512, PS256, "
                      "PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  tokens:
    type: jwt
    issuer: https://idp/
    audiences: [api]
    jwks: { url: "http://idp/keys" }
    algorithms: [RS256]
)",
                      "authenticators.tokens.jwks.url", 7,
                      "the JWKS url must be https:// (got \"http://idp/keys\")");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  tokens:
    type: jwt
    issuer: https://idp/
    audiences: [api]
    jwks: { file: ca.pem, url: "https://idp/keys" }
    algorithms: [RS256]
)",
                      "authenticators.tokens.jwks", 7,
                      "exactly one of \"file\" and \"url\" is required");
}

TEST_F(LoaderErrorTest, RouteNamingABrokenAuthenticatorReportsTheAuthenticator) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - { name: api, authn: [tokens], upstream: app }
authenticators:
  tokens: { type: external, url: "ftp://auth.internal/" }
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "authenticators.tokens.url", 7,
                      "unsupported scheme \"ftp\" (expected http or https)");
}

TEST_F(LoaderErrorTest, ProxySettings) {
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams: { app: { endpoints: ["127.0.0.1:9000"], proxy: "https://proxy:3128" } }
)",
                      "upstreams.app.proxy", 2,
                      "https:// proxies (TLS to the proxy) are not supported; use http:// \u2014 "
                      "the tunnel to the target is still TLS end to end (expected none, env or "
                      "http://[user:password@]host:port)");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
authenticators:
  tokens:
    type: jwt
    issuer: https://idp/
    audiences: [api]
    jwks: { file: ca.pem, proxy: env }
    algorithms: [RS256]
)",
                      "authenticators.tokens.jwks.proxy", 7,
                      "\"proxy\" applies to a JWKS url only");
}

TEST_F(LoaderErrorTest, ListenerAddressMustBeAnIpLiteral) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: localhost:8443
)",
                      "listeners[0].listen", 3,
                      "the address must be an IP literal (a bind never depends on DNS), got "
                      "\"localhost\"; expected \"IP:port\" or \"[IPv6]:port\", e.g. 0.0.0.0:8443 "
                      "or [::]:8443");
  EXPECT_CONFIG_ERROR(R"(listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams:
  app:
    endpoints: []
)",
                      "upstreams.app.endpoints", 4, "must list at least one endpoint (host:port)");
}

TEST_F(LoaderErrorTest, IdentityHeaders) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: app
        identity_headers:
          user: X-User
          groups: "X Groups"
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].identity_headers.groups", 10,
                      "invalid header name \"X Groups\" (letters, digits and !#$%&'*+-.^_`|~ "
                      "only)");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: app
        identity_headers: { user: Content-Length }
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].identity_headers.user", 8,
                      "header \"Content-Length\" is managed by the proxy and cannot carry "
                      "identity");
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: app
        identity_headers:
          user: X-Who
          subject: x-who
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)",
                      "listeners[0].routes[0].identity_headers.subject", 10,
                      "header \"x-who\" is already used for user");
}

TEST_F(LoaderErrorTest, LogSection) {
  EXPECT_CONFIG_ERROR(R"(log:
  access: /nonexistent/dir/access.log
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)",
                      "log.access", 2,
                      "cannot write \"/nonexistent/dir/access.log\": directory "
                      "\"/nonexistent/dir\": No such file or directory");
  EXPECT_CONFIG_ERROR(R"(log: { level: verbose }
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)",
                      "log.level", 1,
                      "unknown level \"verbose\" (expected one of: debug, info, warn, error)");
}

TEST_F(LoaderErrorTest, InvalidNames) {
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: "my listener"
    listen: 127.0.0.1:1
)",
                      "listeners[0].name", 2,
                      "invalid name \"my listener\" (use 1 to 64 letters, digits, '_', '-' or "
                      "'.', starting with a letter or digit)");
}

TEST_F(LoaderErrorTest, TheEarliestErrorInTheFileIsReported) {
  // upstreams load before listeners, yet the listener error comes first in the file.
  EXPECT_CONFIG_ERROR(R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    limits: { idle_timeout: forever }
upstreams:
  app: { endpoints: ["127.0.0.1:0"] }
)",
                      "listeners[0].limits.idle_timeout", 4,
                      "expected a duration, got \"forever\" (use a number and a unit: 500ms, 2s, "
                      "1.5s, 1m or 1h)");
}

TEST_F(LoaderErrorTest, WholeDocumentProblems) {
  EXPECT_CONFIG_ERROR("", "test.yaml", 0,
                      "the configuration is empty (at least one listener is required)");
  EXPECT_CONFIG_ERROR("# only a comment\n", "test.yaml", 0,
                      "the configuration is empty (at least one listener is required)");
  EXPECT_CONFIG_ERROR("workers: 1\n---\nworkers: 2\n", "test.yaml", 3,
                      "the file holds more than one YAML document (\"---\"); use one");
  const core::Error cycle = error_of("listeners: &a [ *a ]\n");
  EXPECT_EQ(cycle.where.substr(0, 12), "listeners[0]");
  EXPECT_NE(cycle.message.find("nesting deeper than 64 levels"), std::string::npos)
      << cycle.message;
  const core::Error bomb = error_of(R"(a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
)");
  EXPECT_NE(bomb.message.find("more than 100000 nodes"), std::string::npos) << bomb.message;
  EXPECT_CONFIG_ERROR("? [a, b]\n: c\n", "test.yaml", 1, "map keys must be plain strings");
}

}  // namespace
}  // namespace portcullis::config

namespace portcullis::config {
namespace {

constexpr const char* kAuthzBase = R"(listeners:
  - name: public
    listen: 127.0.0.1:8443
    routes:
      - name: api
        authn: []
        upstream: app
        authz:
@RULES@
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)";

std::string with_rules(const std::string& rules) {
  std::string text = kAuthzBase;
  text.replace(text.find("@RULES@"), 7, rules);
  return text;
}

TEST(AuthzConfig, ParsesNestedRules) {
  auto cfg = load_config_text(with_rules(R"(          any:
            - { user: [alice, bob] }
            - { all: [ { group: ops }, { method: [GET] } ] }
            - { cert_subject: "CN=svc-*" }
            - { source: [10.0.0.0/8, "::1"] }
            - { claim: { role: admin } })"),
                              "/tmp");
  ASSERT_TRUE(cfg) << cfg.error().to_string();
  const auto& authz = *cfg->listeners[0].routes[0].authz;
  EXPECT_EQ(authz.kind, AuthzRuleConfig::Kind::Any);
  ASSERT_EQ(authz.children.size(), 5u);
  EXPECT_EQ(authz.children[0].values, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(authz.children[0].origin.path, "listeners[0].routes[0].authz.any[0].user");
  EXPECT_EQ(authz.children[0].origin.line, 10);
  EXPECT_EQ(authz.children[1].kind, AuthzRuleConfig::Kind::All);
  EXPECT_EQ(authz.children[1].children[0].values, (std::vector<std::string>{"ops"}));
  EXPECT_EQ(authz.children[3].networks.size(), 2u);
  EXPECT_EQ(authz.children[4].claims.at("role"), "admin");
}

TEST(AuthzConfig, ErrorsNamePathAndLine) {
  auto unknown = load_config_text(with_rules("          any: [ { usr: [alice] } ]"), "/tmp");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().where, "listeners[0].routes[0].authz.any[0]");
  EXPECT_EQ(unknown.error().line, 9);
  EXPECT_NE(unknown.error().message.find("unknown rule \"usr\""), std::string::npos);

  auto two_keys = load_config_text(with_rules("          { user: [a], group: [b] }"), "/tmp");
  ASSERT_FALSE(two_keys);
  EXPECT_NE(two_keys.error().message.find("exactly one key"), std::string::npos);

  auto bad_cidr = load_config_text(with_rules("          source: [10.0.0.0/33]"), "/tmp");
  ASSERT_FALSE(bad_cidr);
  EXPECT_EQ(bad_cidr.error().where, "listeners[0].routes[0].authz.source");
  EXPECT_NE(bad_cidr.error().message.find("10.0.0.0/33"), std::string::npos);

  auto empty_any = load_config_text(with_rules("          any: []"), "/tmp");
  ASSERT_FALSE(empty_any);
  EXPECT_NE(empty_any.error().message.find("at least one rule"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::config

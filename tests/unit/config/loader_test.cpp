// load_config / load_config_text on valid input: every key of the schema parsed, the defaults,
// origins (path + line) and file resolution relative to the config file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

/// A temporary directory removed with its content at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "portcullis-config-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  /// Writes `content` to `relative` (creating directories) and returns the absolute path.
  std::string write(const std::string& relative, const std::string& content = "x\n") const {
    const fs::path file = fs::path(path_) / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << content;
    return file.string();
  }

 private:
  std::string path_;
};

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// Every key of the schema except the ones that refuse to load in this build (authenticators,
// client_auth modes other than off, authz).
constexpr const char* kFullConfig = R"(workers: 2
shutdown_timeout: 1.5s
admin: { listen: 127.0.0.1:9901 }
log: { access: logs/access.log, level: debug }
errors:
  detail: always
  detail_networks: [10.0.0.0/8, "fd00::/8", 192.168.1.7]
listeners:
  - name: public
    listen: 127.0.0.1:8443
    tls:
      cert: certs/server-chain.pem
      key: certs/server.key
      client_auth:
        mode: off
        trusted_ca: certs/client-ca.pem
        intermediates: certs/extra.pem
        verify_depth: 7
        require_client_auth_eku: false
        verify_issuer_dn: true
        crl: certs/revoked.crl.pem
        denial_status: 495
    limits:
      max_header_bytes: 16KiB
      header_timeout: 5s
      idle_timeout: 2m
      body_timeout: 30s
      handshake_timeout: 500ms
    routes:
      - name: api
        match: { host: "*.example.com", path_prefix: /api/ }
        authn: []
        upstream: app
        max_body: 10MiB
        identity_headers:
          { user: X-Auth-User, groups: X-Auth-Groups, subject: X-Client-Subject,
            issuer: X-Client-Issuer, san: X-Client-San, fingerprint: X-Client-Sha256,
            verify: X-Client-Verify, cert: X-Client-Cert }
      - name: rest
        authn: []
        upstream: app
  - name: plain
    listen: "[::1]:8443"
    routes:
      - name: all
        match: { host: app.example.com }
        authn: []
        upstream: secure
upstreams:
  app:
    endpoints: [127.0.0.1:9000, "app.internal:9001"]
    connect_timeout: 2s
    response_timeout: 1h
    max_idle: 0
  secure:
    endpoints: ["[::1]:9443"]
    tls: { ca: @ABS@/elsewhere/upstream-ca.pem, sni: app.internal }
  unused:
    endpoints: [10.0.0.1:80]
)";

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    for (const char* file :
         {"certs/server-chain.pem", "certs/server.key", "certs/client-ca.pem", "certs/extra.pem",
          "certs/revoked.crl.pem", "elsewhere/upstream-ca.pem"}) {
      dir_.write(file);
    }
    fs::create_directories(fs::path(dir_.path()) / "logs");
  }

  std::string full_config() const {
    std::string text = kFullConfig;
    replace_all(text, "@ABS@", dir_.path());
    return text;
  }

  std::string at(const std::string& relative) const { return dir_.path() + "/" + relative; }

  TempDir dir_;
};

TEST_F(LoaderTest, FullConfigParsesEveryValue) {
  auto result = load_config_text(full_config(), dir_.path(), "full.yaml");
  ASSERT_TRUE(result) << result.error().to_string();
  const Config& c = *result;

  EXPECT_EQ(c.file, "full.yaml");
  EXPECT_EQ(c.base_dir, dir_.path());
  EXPECT_EQ(c.workers, 2);
  EXPECT_EQ(c.shutdown_timeout, milliseconds(1'500));
  ASSERT_TRUE(c.admin.listen);
  EXPECT_EQ(c.admin.listen->to_string(), "127.0.0.1:9901");
  EXPECT_EQ(c.admin.listen->origin.path, "admin.listen");
  EXPECT_EQ(c.admin.listen->origin.line, 3);
  EXPECT_EQ(c.log.access, AccessLogTarget::File);
  EXPECT_EQ(c.log.access_file, at("logs/access.log"));
  EXPECT_EQ(c.log.level, core::LogLevel::Debug);
  EXPECT_EQ(c.errors.detail, DetailMode::Always);
  ASSERT_EQ(c.errors.detail_networks.size(), 3u);
  EXPECT_TRUE(c.errors.detail_networks[0].contains(*core::IpAddress::parse("10.1.2.3")));
  EXPECT_FALSE(c.errors.detail_networks[0].contains(*core::IpAddress::parse("11.0.0.1")));
  EXPECT_TRUE(c.errors.detail_networks[1].contains(*core::IpAddress::parse("fd00::5")));
  EXPECT_TRUE(c.errors.detail_networks[2].contains(*core::IpAddress::parse("192.168.1.7")));
  EXPECT_FALSE(c.errors.detail_networks[2].contains(*core::IpAddress::parse("192.168.1.8")));

  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerConfig& pub = c.listeners[0];
  EXPECT_EQ(pub.name, "public");
  EXPECT_EQ(pub.origin.path, "listeners[0]");
  EXPECT_EQ(pub.origin.line, 9);
  EXPECT_EQ(pub.listen.host, "127.0.0.1");
  EXPECT_EQ(pub.listen.port, 8443);
  EXPECT_EQ(pub.listen.origin.path, "listeners[0].listen");
  EXPECT_EQ(pub.listen.origin.line, 10);

  ASSERT_TRUE(pub.tls);
  EXPECT_EQ(pub.tls->origin.path, "listeners[0].tls");
  EXPECT_EQ(pub.tls->origin.line, 11);
  EXPECT_EQ(pub.tls->cert.path, at("certs/server-chain.pem"));
  EXPECT_EQ(pub.tls->cert.origin.path, "listeners[0].tls.cert");
  EXPECT_EQ(pub.tls->cert.origin.line, 12);
  EXPECT_EQ(pub.tls->key.path, at("certs/server.key"));
  EXPECT_EQ(pub.tls->key.origin.line, 13);

  ASSERT_TRUE(pub.tls->client_auth);
  const ClientAuthConfig& ca = *pub.tls->client_auth;
  EXPECT_EQ(ca.origin.path, "listeners[0].tls.client_auth");
  EXPECT_EQ(ca.origin.line, 14);
  EXPECT_EQ(ca.mode, ClientAuthMode::Off);
  ASSERT_TRUE(ca.trusted_ca);
  EXPECT_EQ(ca.trusted_ca->path, at("certs/client-ca.pem"));
  EXPECT_EQ(ca.trusted_ca->origin.path, "listeners[0].tls.client_auth.trusted_ca");
  EXPECT_EQ(ca.trusted_ca->origin.line, 16);
  ASSERT_TRUE(ca.intermediates);
  EXPECT_EQ(ca.intermediates->path, at("certs/extra.pem"));
  EXPECT_EQ(ca.verify_depth, 7);
  EXPECT_FALSE(ca.require_client_auth_eku);
  EXPECT_TRUE(ca.verify_issuer_dn);
  ASSERT_TRUE(ca.crl);
  EXPECT_EQ(ca.crl->path, at("certs/revoked.crl.pem"));
  EXPECT_EQ(ca.crl->origin.line, 21);
  EXPECT_EQ(ca.denial_status, 495);

  EXPECT_EQ(pub.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(pub.limits.header_timeout, milliseconds(5'000));
  EXPECT_EQ(pub.limits.idle_timeout, milliseconds(120'000));
  EXPECT_EQ(pub.limits.body_timeout, milliseconds(30'000));
  EXPECT_EQ(pub.limits.handshake_timeout, milliseconds(500));

  ASSERT_EQ(pub.routes.size(), 2u);
  const RouteConfig& api = pub.routes[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.origin.path, "listeners[0].routes[0]");
  EXPECT_EQ(api.origin.line, 30);
  EXPECT_EQ(api.match.host, "*.example.com");
  EXPECT_EQ(api.match.path_prefix, "/api/");
  EXPECT_TRUE(api.authn.empty());
  EXPECT_EQ(api.upstream, "app");
  EXPECT_EQ(api.max_body, 10u * 1024 * 1024);
  EXPECT_EQ(api.identity_headers.user, "X-Auth-User");
  EXPECT_EQ(api.identity_headers.groups, "X-Auth-Groups");
  EXPECT_EQ(api.identity_headers.subject, "X-Client-Subject");
  EXPECT_EQ(api.identity_headers.issuer, "X-Client-Issuer");
  EXPECT_EQ(api.identity_headers.san, "X-Client-San");
  EXPECT_EQ(api.identity_headers.fingerprint, "X-Client-Sha256");
  EXPECT_EQ(api.identity_headers.verify, "X-Client-Verify");
  EXPECT_EQ(api.identity_headers.cert, "X-Client-Cert");
  const RouteConfig& rest = pub.routes[1];
  EXPECT_EQ(rest.name, "rest");
  EXPECT_EQ(rest.origin.path, "listeners[0].routes[1]");
  EXPECT_EQ(rest.origin.line, 39);
  EXPECT_EQ(rest.match.host, "*");
  EXPECT_EQ(rest.match.path_prefix, "/");

  const ListenerConfig& plain = c.listeners[1];
  EXPECT_EQ(plain.name, "plain");
  EXPECT_EQ(plain.listen.host, "::1");
  EXPECT_EQ(plain.listen.to_string(), "[::1]:8443");
  EXPECT_FALSE(plain.tls);
  ASSERT_EQ(plain.routes.size(), 1u);
  EXPECT_EQ(plain.routes[0].match.host, "app.example.com");
  EXPECT_EQ(plain.routes[0].upstream, "secure");

  ASSERT_EQ(c.upstreams.size(), 3u);
  const UpstreamConfig& app = c.upstreams.at("app");
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.origin.path, "upstreams.app");
  EXPECT_EQ(app.origin.line, 50);
  ASSERT_EQ(app.endpoints.size(), 2u);
  EXPECT_EQ(app.endpoints[0].to_string(), "127.0.0.1:9000");
  EXPECT_EQ(app.endpoints[0].origin.path, "upstreams.app.endpoints[0]");
  EXPECT_EQ(app.endpoints[0].origin.line, 51);
  EXPECT_EQ(app.endpoints[1].host, "app.internal");
  EXPECT_EQ(app.endpoints[1].port, 9001);
  EXPECT_EQ(app.endpoints[1].origin.path, "upstreams.app.endpoints[1]");
  EXPECT_EQ(app.connect_timeout, milliseconds(2'000));
  EXPECT_EQ(app.response_timeout, milliseconds(3'600'000));
  EXPECT_EQ(app.max_idle, 0);
  EXPECT_FALSE(app.tls);
  const UpstreamConfig& secure = c.upstreams.at("secure");
  EXPECT_EQ(secure.endpoints[0].host, "::1");
  ASSERT_TRUE(secure.tls);
  EXPECT_EQ(secure.tls->origin.path, "upstreams.secure.tls");
  EXPECT_EQ(secure.tls->origin.line, 57);
  ASSERT_TRUE(secure.tls->ca);
  EXPECT_EQ(secure.tls->ca->path, at("elsewhere/upstream-ca.pem"));
  EXPECT_EQ(secure.tls->sni, "app.internal");
  EXPECT_TRUE(c.upstreams.contains("unused"));
  EXPECT_TRUE(c.authenticators.empty());
}

TEST_F(LoaderTest, MinimalConfigGetsTheDefaults) {
  const std::string text = R"(listeners:
  - name: web
    listen: 0.0.0.0:8080
    routes:
      - name: all
        authn: []
        upstream: app
upstreams:
  app:
    endpoints: [127.0.0.1:9000]
)";
  auto result = load_config_text(text, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  const Config& c = *result;
  EXPECT_EQ(c.file, "<text>");
  EXPECT_EQ(c.workers, 0);
  EXPECT_EQ(c.shutdown_timeout, milliseconds(30'000));
  EXPECT_FALSE(c.admin.listen);
  EXPECT_EQ(c.log.access, AccessLogTarget::Stdout);
  EXPECT_EQ(c.log.access_file, "");
  EXPECT_EQ(c.log.level, core::LogLevel::Info);
  EXPECT_EQ(c.errors.detail, DetailMode::Local);
  EXPECT_TRUE(c.errors.detail_networks.empty());

  ASSERT_EQ(c.listeners.size(), 1u);
  const ListenerConfig& l = c.listeners[0];
  EXPECT_FALSE(l.tls);
  EXPECT_EQ(l.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(l.limits.header_timeout, milliseconds(10'000));
  EXPECT_EQ(l.limits.idle_timeout, milliseconds(60'000));
  EXPECT_EQ(l.limits.body_timeout, milliseconds(60'000));
  EXPECT_EQ(l.limits.handshake_timeout, milliseconds(10'000));
  EXPECT_EQ(l.normalization.header_underscores, RequestNormalization::Underscores::Drop);
  EXPECT_FALSE(l.normalization.keep_encoded_slash);
  ASSERT_EQ(l.routes.size(), 1u);
  const RouteConfig& r = l.routes[0];
  EXPECT_EQ(r.match.host, "*");
  EXPECT_EQ(r.match.path_prefix, "/");
  EXPECT_EQ(r.max_body, 1024u * 1024);
  EXPECT_TRUE(r.identity_headers.user.empty());
  EXPECT_TRUE(r.identity_headers.cert.empty());

  const UpstreamConfig& u = c.upstreams.at("app");
  EXPECT_EQ(u.connect_timeout, milliseconds(5'000));
  EXPECT_EQ(u.response_timeout, milliseconds(60'000));
  EXPECT_EQ(u.max_idle, 64);
  EXPECT_FALSE(u.tls);
}

TEST_F(LoaderTest, RequestNormalizationSwitches) {
  const std::string text = R"(listeners:
  - name: web
    listen: 0.0.0.0:8080
    request_normalization: { header_underscores: reject, encoded_slash: keep }
    routes:
      - { name: all, authn: [], upstream: app }
upstreams: { app: { endpoints: [127.0.0.1:9000] } }
)";
  auto result = load_config_text(text, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  const auto& n = result->listeners[0].normalization;
  EXPECT_EQ(n.header_underscores, RequestNormalization::Underscores::Reject);
  EXPECT_TRUE(n.keep_encoded_slash);
}

TEST_F(LoaderTest, ClientAuthDefaultsWithModeOff) {
  const std::string text = R"(listeners:
  - name: web
    listen: 0.0.0.0:8443
    tls:
      cert: certs/server-chain.pem
      key: certs/server.key
      client_auth: { mode: off }
upstreams: {}
)";
  auto result = load_config_text(text, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  const ClientAuthConfig& ca = *result->listeners[0].tls->client_auth;
  EXPECT_EQ(ca.mode, ClientAuthMode::Off);
  EXPECT_FALSE(ca.trusted_ca);
  EXPECT_FALSE(ca.intermediates);
  EXPECT_FALSE(ca.crl);
  EXPECT_EQ(ca.verify_depth, 4);
  EXPECT_TRUE(ca.require_client_auth_eku);
  EXPECT_FALSE(ca.verify_issuer_dn);
  EXPECT_EQ(ca.denial_status, 400);
}

TEST_F(LoaderTest, ClientAuthRequireWithMtlsRoute) {
  const std::string text = R"(listeners:
  - name: web
    listen: 0.0.0.0:8443
    tls:
      cert: certs/server-chain.pem
      key: certs/server.key
      client_auth:
        mode: require_handshake
        trusted_ca: certs/client-ca.pem
        intermediates: certs/extra.pem
        crl: certs/revoked.crl.pem
        verify_depth: 2
        verify_issuer_dn: true
        denial_status: 403
    routes:
      - name: api
        authn: [mtls]
        upstream: app
upstreams: { app: { endpoints: ["127.0.0.1:9000"] } }
)";
  auto result = load_config_text(text, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  const ClientAuthConfig& ca = *result->listeners[0].tls->client_auth;
  EXPECT_EQ(ca.mode, ClientAuthMode::RequireHandshake);
  ASSERT_TRUE(ca.trusted_ca && ca.intermediates && ca.crl);
  EXPECT_EQ(ca.crl->path, at("certs/revoked.crl.pem"));
  EXPECT_EQ(ca.verify_depth, 2);
  EXPECT_TRUE(ca.verify_issuer_dn);
  EXPECT_EQ(ca.denial_status, 403);
  EXPECT_EQ(result->listeners[0].routes[0].authn, std::vector<std::string>{"mtls"});
}

TEST_F(LoaderTest, AccessLogTargetsAndUpstreamTlsDefaults) {
  for (const auto& [word, target] :
       {std::pair{"stdout", AccessLogTarget::Stdout}, std::pair{"stderr", AccessLogTarget::Stderr},
        std::pair{"\"off\"", AccessLogTarget::Off}, std::pair{"off", AccessLogTarget::Off}}) {
    const std::string text = std::string("log: { access: ") + word + R"( }
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
upstreams: { app: { endpoints: [ "h:1" ], tls: {} } }
)";
    auto result = load_config_text(text, dir_.path());
    ASSERT_TRUE(result) << word << ": " << result.error().to_string();
    EXPECT_EQ(result->log.access, target) << word;
    EXPECT_TRUE(result->log.access_file.empty());
    ASSERT_TRUE(result->upstreams.at("app").tls);
    EXPECT_FALSE(result->upstreams.at("app").tls->ca);
    EXPECT_EQ(result->upstreams.at("app").tls->sni, "");
  }
}

TEST_F(LoaderTest, LoadConfigResolvesFilesAgainstTheConfigDirectory) {
  const std::string file = dir_.write("conf/portcullis.yaml", R"(listeners:
  - name: web
    listen: 127.0.0.1:8443
    tls: { cert: ../certs/server-chain.pem, key: ../certs/server.key }
)");
  auto result = load_config(file);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->file, file);
  EXPECT_EQ(result->base_dir, at("conf"));
  EXPECT_EQ(result->listeners[0].tls->cert.path, at("certs/server-chain.pem"));
  EXPECT_TRUE(result->listeners[0].routes.empty());
}

TEST_F(LoaderTest, LoadConfigReportsAMissingFile) {
  const std::string file = at("nope.yaml");
  auto result = load_config(file);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().where, file);
  EXPECT_EQ(result.error().line, 0);
  EXPECT_EQ(result.error().to_string(),
            file + ": cannot read config file: No such file or directory");
}

TEST_F(LoaderTest, LoadConfigReportsADirectory) {
  auto result = load_config(dir_.path());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(), dir_.path() + ": cannot read config file: Is a directory");
}

TEST_F(LoaderTest, PortZeroListenersNeverCollide) {
  const std::string text = R"(admin: { listen: "127.0.0.1:0" }
listeners:
  - { name: a, listen: "127.0.0.1:0" }
  - { name: b, listen: "127.0.0.1:0" }
  - { name: c, listen: "127.0.0.1:8080" }
  - { name: d, listen: "[::1]:8080" }
  - { name: e, listen: "127.0.0.2:8080" }
)";
  auto result = load_config_text(text, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->listeners.size(), 5u);
}

TEST_F(LoaderTest, QuotedScalarsAndAnchorsWork) {
  const std::string text = R"(workers: "3"
x-defaults: &upstream { endpoints: [ "127.0.0.1:1" ] }
)";
  // Unknown top-level keys are errors even when used only as anchors.
  auto bad = load_config_text(text, dir_.path());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "x-defaults");

  const std::string good = R"(workers: "3"
upstreams:
  a: &upstream { endpoints: [ "127.0.0.1:1" ], max_idle: 5 }
  b: *upstream
listeners: [ { name: a, listen: "127.0.0.1:1" } ]
)";
  auto result = load_config_text(good, dir_.path());
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->workers, 3);
  EXPECT_EQ(result->upstreams.at("b").max_idle, 5);
}

}  // namespace
}  // namespace portcullis::config

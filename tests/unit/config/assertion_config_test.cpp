// routes[].assertion and assertion_signing: defaults, every bound, unknown keys, and errors that
// name the YAML path and line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

class AssertionConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "portcullis-assertion-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ + "/signing.key") << "x\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// A config whose only route has `assertion` lines (indented by the caller) and a top-level
  /// tail (e.g. an assertion_signing block).
  static std::string config(const std::string& assertion, const std::string& tail = {}) {
    return R"(upstreams:
  app: { endpoints: ["127.0.0.1:9000"] }
listeners:
  - name: public
    listen: 127.0.0.1:8080
    routes:
      - name: api
        authn: []
        upstream: app
        identity_headers: { user: X-User }
)" + assertion +
           tail;
  }

  core::Result<Config> load(const std::string& text) {
    return load_config_text(text, dir_, "test.yaml");
  }

  core::Error error_of(const std::string& text) {
    auto result = load(text);
    EXPECT_FALSE(result) << "loaded although an error was expected:\n" << text;
    return result ? core::Error{} : result.error();
  }

  std::string dir_;
};

TEST_F(AssertionConfigTest, DefaultsAndRequiredAudience) {
  auto loaded = load(config("        assertion: { audience: app }\n"));
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const auto& assertion = loaded->listeners[0].routes[0].assertion;
  ASSERT_TRUE(assertion);
  EXPECT_EQ(assertion->header, "X-Portcullis-Assertion");
  EXPECT_EQ(assertion->ttl, std::chrono::seconds{60});
  EXPECT_EQ(assertion->audience, "app");
  EXPECT_EQ(assertion->origin.path, "listeners[0].routes[0].assertion");
  EXPECT_EQ(assertion->origin.line, 11);
  // No assertion_signing block: a generated key, rotated daily, issuer "portcullis".
  EXPECT_FALSE(loaded->assertion_signing.key);
  EXPECT_EQ(loaded->assertion_signing.rotate, std::chrono::hours{24});
  EXPECT_EQ(loaded->assertion_signing.issuer, "portcullis");
  EXPECT_TRUE(loaded->assertion_signing.origin.path.empty());
}

TEST_F(AssertionConfigTest, EverySetting) {
  auto loaded = load(config(R"(        assertion:
          header: X-Identity
          ttl: 5m
          audience: "https://app.internal/"
)",
                            R"(assertion_signing:
  rotate: 2h
  issuer: gateway-1
)"));
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const auto& assertion = *loaded->listeners[0].routes[0].assertion;
  EXPECT_EQ(assertion.header, "X-Identity");
  EXPECT_EQ(assertion.ttl, std::chrono::seconds{300});
  EXPECT_EQ(assertion.audience, "https://app.internal/");
  EXPECT_EQ(loaded->assertion_signing.rotate, std::chrono::hours{2});
  EXPECT_EQ(loaded->assertion_signing.issuer, "gateway-1");
  EXPECT_EQ(loaded->assertion_signing.origin.path, "assertion_signing");
}

TEST_F(AssertionConfigTest, KeyFileIsResolvedAndMustBeReadable) {
  auto loaded = load(
      config("        assertion: { audience: app }\n", "assertion_signing:\n  key: signing.key\n"));
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  ASSERT_TRUE(loaded->assertion_signing.key);
  EXPECT_EQ(loaded->assertion_signing.key->path, dir_ + "/signing.key");
  EXPECT_EQ(loaded->assertion_signing.key->origin.path, "assertion_signing.key");
  const core::Error e = error_of(
      config("        assertion: { audience: app }\n", "assertion_signing:\n  key: missing.key\n"));
  EXPECT_EQ(e.where, "assertion_signing.key");
  EXPECT_EQ(e.line, 13);
}

TEST_F(AssertionConfigTest, AudienceIsRequired) {
  const core::Error e = error_of(config("        assertion: { ttl: 30s }\n"));
  EXPECT_EQ(e.where, "listeners[0].routes[0].assertion");
  EXPECT_EQ(e.line, 11);
  EXPECT_NE(e.message.find("audience"), std::string::npos) << e.message;
}

TEST_F(AssertionConfigTest, TtlBounds) {
  for (const char* ttl : {"500ms", "2h", "1500ms", "0s"}) {
    SCOPED_TRACE(ttl);
    const core::Error e = error_of(config(std::string("        assertion:\n          ttl: ") + ttl +
                                          "\n          audience: app\n"));
    EXPECT_EQ(e.where, "listeners[0].routes[0].assertion.ttl");
    EXPECT_EQ(e.line, 12);
  }
  EXPECT_TRUE(load(config("        assertion: { ttl: 1s, audience: app }\n")));
  EXPECT_TRUE(load(config("        assertion: { ttl: 1h, audience: app }\n")));
}

TEST_F(AssertionConfigTest, UnknownKeysAreErrors) {
  core::Error e = error_of(config("        assertion: { audience: app, alg: RS256 }\n"));
  EXPECT_EQ(e.to_string(),
            "listeners[0].routes[0].assertion.alg: line 11: unknown key \"alg\" (expected one of: "
            "header, ttl, audience)");
  e = error_of(
      config("        assertion: { audience: app }\n", "assertion_signing:\n  algorithm: ES256\n"));
  EXPECT_EQ(e.to_string(),
            "assertion_signing.algorithm: line 13: unknown key \"algorithm\" (expected one of: "
            "key, rotate, issuer)");
}

TEST_F(AssertionConfigTest, HeaderMustBeAFreeFieldName) {
  core::Error e = error_of(config("        assertion: { header: x-user, audience: app }\n"));
  EXPECT_EQ(e.where, "listeners[0].routes[0].assertion.header");
  EXPECT_NE(e.message.find("identity_headers.user"), std::string::npos) << e.message;
  e = error_of(config("        assertion: { header: \"Bad Header\", audience: app }\n"));
  EXPECT_EQ(e.where, "listeners[0].routes[0].assertion.header");
  e = error_of(config("        assertion: { header: Content-Length, audience: app }\n"));
  EXPECT_EQ(e.where, "listeners[0].routes[0].assertion.header");
}

TEST_F(AssertionConfigTest, RotateIsForGeneratedKeysOnly) {
  core::Error e = error_of(config("        assertion: { audience: app }\n",
                                  "assertion_signing:\n  key: signing.key\n  rotate: 1h\n"));
  EXPECT_EQ(e.where, "assertion_signing.rotate");
  EXPECT_EQ(e.line, 14);
  EXPECT_NE(e.message.find("generated keys only"), std::string::npos) << e.message;
  e = error_of(
      config("        assertion: { audience: app }\n", "assertion_signing:\n  rotate: 100ms\n"));
  EXPECT_EQ(e.where, "assertion_signing.rotate");
  e = error_of(
      config("        assertion: { audience: app }\n", "assertion_signing:\n  issuer: \"\"\n"));
  EXPECT_EQ(e.where, "assertion_signing.issuer");
}

}  // namespace
}  // namespace portcullis::config

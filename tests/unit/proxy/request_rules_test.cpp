// normalize_request: the head routing, authn, authz and the upstream see (issue #22).
#include "proxy/request_rules.h"

#include <gtest/gtest.h>

namespace portcullis::proxy {
namespace {

using core::DenialCode;
using Underscores = config::RequestNormalization::Underscores;

RequestHead head(std::string target,
                 std::initializer_list<std::pair<const char*, const char*>> fields,
                 std::string method = "GET") {
  RequestHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  for (const auto& [name, value] : fields) h.headers.add(name, value);
  return h;
}

std::optional<core::Denial> check(RequestHead& h, config::RequestNormalization policy = {}) {
  return normalize_request(h, classify_transfer_encoding(h.headers, h.version), policy);
}

TEST(NormalizeRequest, NormalisesHostAndTargetInPlace) {
  auto h = head("/public/%2e%2e/admin//x?a=%2F", {{"Host", "Admin.Example.:0443"}});
  ASSERT_FALSE(check(h));
  EXPECT_EQ(h.target, "/admin/x?a=%2F");
  EXPECT_EQ(h.headers.get("host"), "admin.example:443");
}

TEST(NormalizeRequest, RefusesTransferCodings) {
  auto smuggle =
      head("/", {{"Host", "x"}, {"Transfer-Encoding", "xchunked"}, {"Content-Length", "4"}});
  auto d = check(smuggle);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, DenialCode::RequestMalformed);
  EXPECT_NE(d->detail.find("Transfer-Encoding"), std::string::npos);
  auto gzip = head("/", {{"Host", "x"}, {"Transfer-Encoding", "gzip, chunked"}});
  d = check(gzip);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, DenialCode::RequestTransferCodingUnsupported);
}

TEST(NormalizeRequest, RefusesMissingRepeatedAndInvalidHost) {
  auto none = head("/", {});
  none.version = 10;
  auto d = check(none);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->detail, "missing Host header");
  auto two = head("/", {{"Host", "a"}, {"host", "a"}});
  EXPECT_EQ(check(two)->detail, "more than one Host header");
  auto bad = head("/", {{"Host", "admin.example:1:2"}});
  d = check(bad);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, DenialCode::RequestMalformed);
  EXPECT_TRUE(d->detail.starts_with("Host header has more than one ':'")) << d->detail;
}

TEST(NormalizeRequest, DropsOrRefusesUnderscoreHeaders) {
  auto h =
      head("/", {{"Host", "x"}, {"X_Auth_User", "admin"}, {"X-Custom_Header", "1"}, {"A", "b"}});
  ASSERT_FALSE(check(h));
  ASSERT_EQ(h.headers.fields().size(), 2u);
  EXPECT_EQ(h.headers.fields()[1].first, "A");

  auto r = head("/", {{"Host", "x"}, {"X_Auth_User", "admin"}});
  const auto d = check(r, {.header_underscores = Underscores::Reject});
  ASSERT_TRUE(d);
  EXPECT_NE(d->detail.find("\"X_Auth_User\""), std::string::npos) << d->detail;
}

TEST(NormalizeRequest, TargetRules) {
  auto star = head("*", {{"Host", "x"}}, "OPTIONS");
  EXPECT_FALSE(check(star));
  auto get_star = head("*", {{"Host", "x"}});
  EXPECT_TRUE(check(get_star));
  auto slash = head("/admin%2fx", {{"Host", "x"}});
  const auto d = check(slash);
  ASSERT_TRUE(d);
  EXPECT_NE(d->detail.find("(\"/admin%2fx\")"), std::string::npos) << d->detail;
  auto kept = head("/admin%2fx", {{"Host", "x"}});
  EXPECT_FALSE(check(kept, {.keep_encoded_slash = true}));
  EXPECT_EQ(kept.target, "/admin%2Fx");
  auto absolute = head("http://x/admin", {{"Host", "x"}});
  EXPECT_TRUE(check(absolute));
}

TEST(NormalizeRequest, LongValuesAreCutInTheDetail) {
  auto h = head("/" + std::string(500, 'a') + "/%2f", {{"Host", "x"}});
  const auto d = check(h);
  ASSERT_TRUE(d);
  EXPECT_LT(d->detail.size(), 250u);
}

}  // namespace
}  // namespace portcullis::proxy

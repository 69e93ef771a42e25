// normalize_target: the one path policy routing, authz and the upstream share (issue #22).
#include "core/request_target.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

std::string norm(std::string_view target, TargetPolicy policy = {}) {
  auto r = normalize_target(target, policy);
  return r ? *r : "ERROR: " + r.error();
}

bool refused(std::string_view target, TargetPolicy policy = {}) {
  return !normalize_target(target, policy).has_value();
}

TEST(NormalizeTarget, KeepsWhatIsAlreadyNormal) {
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("/a/b"), "/a/b");
  EXPECT_EQ(norm("/a/b/"), "/a/b/");
  EXPECT_EQ(norm("*"), "*");
  EXPECT_EQ(norm("/a;b=c/d"), "/a;b=c/d");
  EXPECT_EQ(norm("/%C3%A9t%C3%A9"), "/%C3%A9t%C3%A9");
  EXPECT_EQ(norm("/a:b@c!$&'()*+,="), "/a:b@c!$&'()*+,=");
}

TEST(NormalizeTarget, DecodesUnreservedAndUppercasesTheRest) {
  EXPECT_EQ(norm("/%61dmin/x"), "/admin/x");
  EXPECT_EQ(norm("/%41%7e%2D%5f%2E"), "/A~-_.");
  EXPECT_EQ(norm("/a%3fb"), "/a%3Fb");
  EXPECT_EQ(norm("/a%c3%a9"), "/a%C3%A9");
  EXPECT_EQ(norm("/a%20b"), "/a%20b");
  EXPECT_EQ(norm("/%252e%252e/x"), "/%252e%252e/x");  // decoded once, never twice
}

TEST(NormalizeTarget, EncodesCharactersAPathCannotHoldRaw) {
  EXPECT_EQ(norm("/a|b{c}^`\"<>[]"), "/a%7Cb%7Bc%7D%5E%60%22%3C%3E%5B%5D");
}

TEST(NormalizeTarget, ResolvesDotSegmentsAndMergesSlashes) {
  EXPECT_EQ(norm("/public/../admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/%2e%2e/admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/.%2E/admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/./../admin/x"), "/admin/x");
  EXPECT_EQ(norm("//admin/x"), "/admin/x");
  EXPECT_EQ(norm("///admin//x"), "/admin/x");
  EXPECT_EQ(norm("/./admin/x"), "/admin/x");
  EXPECT_EQ(norm("/admin/."), "/admin/");
  EXPECT_EQ(norm("/admin/x/.."), "/admin/");
  EXPECT_EQ(norm("/admin/.."), "/");
  EXPECT_EQ(norm("/a/b//"), "/a/b/");
  EXPECT_EQ(norm("//"), "/");
  EXPECT_EQ(norm("/public/.../x"), "/public/.../x");
  EXPECT_EQ(norm("/public/..x/y"), "/public/..x/y");
}

TEST(NormalizeTarget, KeepsTheQueryAsSent) {
  EXPECT_EQ(norm("/a/../b?x=%2F&y=../z"), "/b?x=%2F&y=../z");
  EXPECT_EQ(norm("/?"), "/?");
  EXPECT_EQ(norm("/a?b?c"), "/a?b?c");
}

TEST(NormalizeTarget, RefusesWhatSplitsOrEndsAPathElsewhere) {
  for (const char* t :
       {"/admin%2fx", "/admin%2Fx", "/%2fadmin", "/public/..%2fadmin/x", "/public/..%5cadmin/x",
        "/public/..\\admin/x", "/admin/x%00", "/public/..%00/admin/x", "/admin/x#frag",
        "/public/x#/../../admin", "/a%zz", "/a%4", "/a%", "/a%%41"}) {
    EXPECT_TRUE(refused(t)) << t;
  }
}

TEST(NormalizeTarget, RefusesDotSegmentsWithParameters) {
  for (const char* t : {"/public/..;/admin/x", "/public/..;jsessionid=1/admin/x",
                        "/public/%2e%2e;/admin/x", "/public/.;x/admin", "/a/..;"}) {
    EXPECT_TRUE(refused(t)) << t;
  }
  EXPECT_EQ(norm("/a/..x;y/b"), "/a/..x;y/b");
}

TEST(NormalizeTarget, RefusesClimbingAboveTheRoot) {
  EXPECT_TRUE(refused("/../admin/x"));
  EXPECT_TRUE(refused("/public/../../admin/x"));
  EXPECT_TRUE(refused("/%2e%2e/x"));
  EXPECT_EQ(norm("/a/b/../../c"), "/c");
}

TEST(NormalizeTarget, RefusesRawHighBytesControlsAndNonUtf8) {
  EXPECT_TRUE(refused("/caf\xc3\xa9"));
  EXPECT_TRUE(refused("/public/\xc0\xae\xc0\xae/admin"));
  EXPECT_TRUE(refused("/a?q=\xff"));
  EXPECT_TRUE(refused("/a\x01"));
  EXPECT_TRUE(refused("/a b"));
  EXPECT_TRUE(refused("/a\x7f"));
  EXPECT_TRUE(refused("/public/..%c0%af/admin/x"));    // overlong '/'
  EXPECT_TRUE(refused("/public/%c0%ae%c0%ae/admin"));  // overlong '.'
  EXPECT_TRUE(refused("/%ed%a0%80"));                  // a surrogate
  EXPECT_TRUE(refused("/%e9"));                        // Latin-1, not UTF-8
}

TEST(NormalizeTarget, RefusesWhatIsNotOriginForm) {
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("admin/x"));
  EXPECT_TRUE(refused("http://example.com/admin"));
  EXPECT_TRUE(refused("example.com:443"));
}

TEST(NormalizeTarget, EncodedSlashKeptWhenAllowed) {
  const TargetPolicy keep{.keep_encoded_slash = true};
  EXPECT_EQ(norm("/admin%2fx", keep), "/admin%2Fx");
  EXPECT_EQ(norm("/a/..%2F/b", keep), "/a/..%2F/b");  // one segment "..%2F", not ".."
  EXPECT_TRUE(refused("/a%5Cb", keep));
  EXPECT_TRUE(refused("/a%00b", keep));
}

TEST(NormalizeTarget, ErrorsSayWhat) {
  EXPECT_EQ(normalize_target("/a%2fb", {}).error(),
            "request target has an encoded slash (%2F; request_normalization.encoded_slash: keep "
            "allows it)");
  EXPECT_EQ(normalize_target("/../x", {}).error(),
            "request target has a '..' segment above the root");
  EXPECT_EQ(normalize_target("/x\xff", {}).error(),
            "request target has the raw byte 0xFF (percent-encode it)");
}

TEST(NormalizeTarget, IsIdempotent) {
  for (const char* t : {"/a/./b/../c//d/", "/%61%2e%7E/x;y", "/a|b", "/%C3%A9/?q=1", "/x/%25"}) {
    const auto once = normalize_target(t, {});
    ASSERT_TRUE(once) << t;
    EXPECT_EQ(norm(*once), *once) << t;
  }
}

TEST(CheckPathPrefix, AcceptsNormalPrefixesAndNamesTheFix) {
  EXPECT_EQ(check_path_prefix("/"), "");
  EXPECT_EQ(check_path_prefix("/api/"), "");
  EXPECT_EQ(check_path_prefix("/api"), "");
  EXPECT_NE(check_path_prefix("api/"), "");
  EXPECT_NE(check_path_prefix("/a?b"), "");
  EXPECT_NE(check_path_prefix("/a/../b"), "");
  EXPECT_NE(check_path_prefix("//api"), "");
  EXPECT_NE(check_path_prefix("/a\\b"), "");
  EXPECT_NE(check_path_prefix("/%7Eapi").find("write it as \"/~api\""), std::string::npos);
}

}  // namespace
}  // namespace portcullis::core

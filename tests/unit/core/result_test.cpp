// Error::to_string is what operators read for every configuration failure.
#include "core/result.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

TEST(Error, ToStringOmitsUnknownParts) {
  EXPECT_EQ((Error{"no such file", "", 0}).to_string(), "no such file");
  EXPECT_EQ((Error{"no such file", "listeners[0].tls.cert", 0}).to_string(),
            "listeners[0].tls.cert: no such file");
  EXPECT_EQ((Error{"unknown mode \"yes\"", "listeners[0].tls.client_auth.mode", 12}).to_string(),
            "listeners[0].tls.client_auth.mode: line 12: unknown mode \"yes\"");
  EXPECT_EQ((Error{"bad", "", 3}).to_string(), "line 3: bad");
}

Result<int> half(int n) {
  if (n % 2 != 0) return fail("odd number", "input", 7);
  return n / 2;
}

TEST(Result, ValueAndFailure) {
  const auto ok = half(8);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 4);

  const auto bad = half(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "odd number");
  EXPECT_EQ(bad.error().where, "input");
  EXPECT_EQ(bad.error().line, 7);
  EXPECT_EQ(bad.error().to_string(), "input: line 7: odd number");
}

TEST(Result, FailDefaults) {
  const Result<void> r = fail("boom");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().where, "");
  EXPECT_EQ(r.error().line, 0);
  EXPECT_EQ(r.error().to_string(), "boom");
}

}  // namespace
}  // namespace portcullis::core

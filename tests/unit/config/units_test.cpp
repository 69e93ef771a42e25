// Durations and sizes as written in the configuration: accepted forms, exactness, errors.
#include "config/units.h"

#include <gtest/gtest.h>

namespace portcullis::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("500ms").value(), milliseconds(500));
  EXPECT_EQ(parse_duration("2s").value(), milliseconds(2'000));
  EXPECT_EQ(parse_duration("1m").value(), milliseconds(60'000));
  EXPECT_EQ(parse_duration("1h").value(), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("0s").value(), milliseconds(0));
}

TEST(ParseDuration, AcceptsExactFractions) {
  EXPECT_EQ(parse_duration("1.5s").value(), milliseconds(1'500));
  EXPECT_EQ(parse_duration("0.25s").value(), milliseconds(250));
  EXPECT_EQ(parse_duration("1.5m").value(), milliseconds(90'000));
  EXPECT_EQ(parse_duration("0.001s").value(), milliseconds(1));
  EXPECT_EQ(parse_duration("2.000ms").value(), milliseconds(2));
}

TEST(ParseDuration, RejectsBareNumberWithTheAcceptedForms) {
  const auto r = parse_duration("30");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "duration \"30\" has no unit (use a number and a unit: 500ms, 2s, 1.5s, 1m or 1h)");
}

TEST(ParseDuration, RejectsUnknownUnit) {
  const auto r = parse_duration("2d");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "unknown unit \"d\" in duration \"2d\" (use a number and a unit: 500ms, 2s, 1.5s, 1m "
            "or 1h)");
  EXPECT_FALSE(parse_duration("2 s"));
  EXPECT_FALSE(parse_duration("2S"));
  EXPECT_FALSE(parse_duration("2sec"));
  EXPECT_FALSE(parse_duration("1m30s"));
}

TEST(ParseDuration, RejectsMalformedNumbers) {
  for (const char* text : {"", "s", ".5s", "1.s", "+1s", "1e3ms", "0x10s", "1.0000000001s"}) {
    const auto r = parse_duration(text);
    EXPECT_FALSE(r) << text;
  }
  EXPECT_EQ(parse_duration("abc").error().message,
            "expected a duration, got \"abc\" (use a number and a unit: 500ms, 2s, 1.5s, 1m or "
            "1h)");
}

TEST(ParseDuration, RejectsNegative) {
  const auto r = parse_duration("-1s");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "durations cannot be negative, got \"-1s\"");
}

TEST(ParseDuration, RejectsSubMillisecond) {
  const auto r = parse_duration("0.5ms");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "duration \"0.5ms\" is not a whole number of milliseconds");
  EXPECT_FALSE(parse_duration("1.0001s"));
}

TEST(ParseDuration, RejectsOverflowAndHugeValues) {
  EXPECT_EQ(parse_duration("8760h").value(), kMaxDuration);
  const auto r = parse_duration("8761h");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "duration \"8761h\" is too large (at most 8760h)");
  EXPECT_FALSE(parse_duration("99999999999999999999999ms"));
  EXPECT_FALSE(parse_duration("18446744073709551615h"));
}

TEST(ParseSize, AcceptsBytesAndEverySpelling) {
  EXPECT_EQ(parse_size("0").value(), 0u);
  EXPECT_EQ(parse_size("512").value(), 512u);
  EXPECT_EQ(parse_size("512B").value(), 512u);
  for (const char* text : {"16KiB", "16KB", "16k", "16K", "16kb", "16kib"}) {
    EXPECT_EQ(parse_size(text).value(), 16u * 1024) << text;
  }
  for (const char* text : {"10MiB", "10MB", "10m", "10M"}) {
    EXPECT_EQ(parse_size(text).value(), 10u * 1024 * 1024) << text;
  }
  for (const char* text : {"1GiB", "1GB", "1g", "1G"}) {
    EXPECT_EQ(parse_size(text).value(), 1024u * 1024 * 1024) << text;
  }
}

TEST(ParseSize, AcceptsExactFractions) {
  EXPECT_EQ(parse_size("1.5KiB").value(), 1536u);
  EXPECT_EQ(parse_size("0.5MiB").value(), 512u * 1024);
  const auto r = parse_size("1.1KiB");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "size \"1.1KiB\" is not a whole number of bytes");
}

TEST(ParseSize, RejectsUnknownUnitsAndGarbage) {
  const auto r = parse_size("10XB");
  ASSERT_FALSE(r);
  EXPECT_EQ(
      r.error().message,
      "unknown unit \"XB\" in size \"10XB\" (use bytes or a unit: 512, 16KiB, 10MiB or 1GiB)");
  for (const char* text : {"", "MiB", "1 MiB", "1TiB", "1.5", "1.", "ten", "0x10"}) {
    EXPECT_FALSE(parse_size(text)) << text;
  }
}

TEST(ParseSize, RejectsNegativeAndOverflow) {
  EXPECT_EQ(parse_size("-1").error().message, "sizes cannot be negative, got \"-1\"");
  EXPECT_EQ(parse_size("18446744073709551615").value(), 18446744073709551615u);
  EXPECT_EQ(parse_size("18446744073709551616").error().message,
            "size \"18446744073709551616\" is too large");
  EXPECT_FALSE(parse_size("17179869184GiB"));
  EXPECT_EQ(parse_size("17179869183GiB").value(), 17179869183ull << 30);
}

TEST(FormatUnits, ShortestExactSpelling) {
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
  EXPECT_EQ(format_size(1024 * 1024 * 1024), "1GiB");
  EXPECT_EQ(format_size(16 * 1024), "16KiB");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(0), "0");
}

}  // namespace
}  // namespace portcullis::config

// ASCII helpers: folding only A-Z, trimming only protocol whitespace, hex digits.
#include "core/ascii.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

TEST(Ascii, Lower) {
  EXPECT_EQ(ascii_lower("HTTPS://Proxy.CORP:3128"), "https://proxy.corp:3128");
  EXPECT_EQ(ascii_lower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes untouched
  EXPECT_EQ(ascii_lower(""), "");
}

TEST(Ascii, CaseInsensitiveEquality) {
  EXPECT_TRUE(ascii_iequals("WWW-Authenticate", "www-authenticate"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("Bearer", "Bearer "));
  EXPECT_FALSE(ascii_iequals("a", "b"));
  // Only ASCII letters fold: bytes above 0x7f compare exactly.
  EXPECT_FALSE(ascii_iequals("\xc3\x89", "\xc3\xa9"));
}

TEST(Ascii, Trim) {
  EXPECT_EQ(trim_ascii_space(" \t value \r\n"), "value");
  EXPECT_EQ(trim_ascii_space("a b"), "a b");
  EXPECT_EQ(trim_ascii_space(" \r\n\t"), "");
}

TEST(Ascii, HexDigits) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('g'), -1);
  EXPECT_EQ(hex_digit_value('%'), -1);
}

}  // namespace
}  // namespace portcullis::core

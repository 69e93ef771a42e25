// JSON escaping must always yield valid JSON, whatever bytes a request carried.
#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace portcullis::core {
namespace {

std::string escaped(std::string_view in) {
  std::string out;
  json_escape_to(out, in);
  return out;
}

TEST(JsonEscape, PlainTextUnchanged) {
  EXPECT_EQ(escaped("hello world/ok"), "hello world/ok");
}

TEST(JsonEscape, QuotesAndBackslash) {
  EXPECT_EQ(escaped(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(escaped(R"(C:\path)"), R"(C:\\path)");
}

TEST(JsonEscape, ControlCharacters) {
  EXPECT_EQ(escaped("a\nb\rc\td"), R"(a\nb\rc\td)");
  EXPECT_EQ(escaped(std::string_view("\x00", 1)), R"(\u0000)");
  EXPECT_EQ(escaped("\x01\x1f"), R"(\u0001\u001f)");
  EXPECT_EQ(escaped("\x7f"), R"(\u007f)");
}

TEST(JsonEscape, ValidMultibyteKept) {
  EXPECT_EQ(escaped("caf\xC3\xA9"), "caf\xC3\xA9");            // é
  EXPECT_EQ(escaped("\xE2\x82\xAC"), "\xE2\x82\xAC");          // €
  EXPECT_EQ(escaped("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // 😀
  EXPECT_EQ(escaped("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
}

TEST(JsonEscape, InvalidUtf8BecomesReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFF"
                    "b"),
            "a" + fffd + "b");
  EXPECT_EQ(escaped("\x80"), fffd);                                   // lone continuation byte
  EXPECT_EQ(escaped("\xC0\xAF"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(escaped("\xE2\x82"), fffd + fffd);                        // truncated sequence
  EXPECT_EQ(escaped("\xED\xA0\x80"), fffd + fffd + fffd);             // UTF-16 surrogate
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(escaped("\xC3"), fffd);                                   // truncated at end of input
}

TEST(JsonObjectWriter, WritesFlatObject) {
  std::string out;
  JsonObjectWriter w(out);
  w.str("s", "v\"1").num("i", std::int64_t{-42}).num("d", 1.5).boolean("t", true);
  w.boolean("f", false).null("n").raw("o", R"({"a":[1,2]})");
  w.finish();
  EXPECT_EQ(out, R"({"s":"v\"1","i":-42,"d":1.500,"t":true,"f":false,"n":null,"o":{"a":[1,2]}})");
}

TEST(JsonObjectWriter, EmptyObjectAndEscapedKeys) {
  std::string out;
  JsonObjectWriter(out).finish();
  EXPECT_EQ(out, "{}");

  out.clear();
  JsonObjectWriter w(out);
  w.str("k\"ey", "");
  w.finish();
  EXPECT_EQ(out, R"({"k\"ey":""})");
}

TEST(JsonObjectWriter, AppendsToExistingText) {
  std::string out = "line: ";
  JsonObjectWriter w(out);
  w.num("n", std::int64_t{1});
  w.finish();
  EXPECT_EQ(out, R"(line: {"n":1})");
}

}  // namespace
}  // namespace portcullis::core

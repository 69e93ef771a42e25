// Compact JWS syntax: strict base64url (RFC 4648 §10 vectors, canonical encodings only), JSON
// objects without duplicates, and the three-part split with its header checks.
#include "authn/jwt_token.h"

#include <gtest/gtest.h>

#include <string>

namespace portcullis::authn {
namespace {

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 §10, without padding (base64url of these equals base64 minus '=').
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    const auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  const std::string bytes = "\xfb\xff\xbf";
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), bytes);
  EXPECT_FALSE(base64url_decode("+/+/"));  // base64, not base64url
}

TEST(Base64Url, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url_encode(part)), part);
  }
}

TEST(Base64Url, RefusesNonCanonicalAndForeignText) {
  EXPECT_FALSE(base64url_decode("Zg=="));    // padding
  EXPECT_FALSE(base64url_decode("Zm9v\n"));  // whitespace
  EXPECT_FALSE(base64url_decode("Zm 9v"));
  EXPECT_FALSE(base64url_decode("Z"));    // length 1 mod 4 is impossible
  EXPECT_FALSE(base64url_decode("Zh"));   // "f" with non-zero unused bits
  EXPECT_FALSE(base64url_decode("Zm9"));  // "fo" needs Zm8
  EXPECT_FALSE(base64url_decode("Zm9v."));
  EXPECT_FALSE(base64url_decode(std::string("Zg\0", 3)));
}

TEST(Base64Url, LenientAcceptsPadding) {
  EXPECT_EQ(base64url_decode_lenient("Zg=="), "f");
  EXPECT_EQ(base64url_decode_lenient("Zm8="), "fo");
  EXPECT_EQ(base64url_decode_lenient("Zm9v"), "foo");
  EXPECT_FALSE(base64url_decode_lenient("Zg="));  // wrong amount of padding
  EXPECT_FALSE(base64url_decode_lenient("Zm9v==="));
}

TEST(JsonObject, ParsesAnObject) {
  const auto value = parse_json_object(R"({"a": 1, "b": {"c": [1, {"d": "e"}]}})");
  ASSERT_TRUE(value) << value.error();
  EXPECT_EQ((*value)["b"]["c"][1]["d"], "e");
}

TEST(JsonObject, RefusesOtherValuesAndBadJson) {
  EXPECT_NE(parse_json_object("[1,2]").error().find("array"), std::string::npos);
  EXPECT_NE(parse_json_object("\"text\"").error().find("string"), std::string::npos);
  EXPECT_EQ(parse_json_object("{\"a\":").error(), "not valid JSON");
  EXPECT_EQ(parse_json_object("").error(), "not valid JSON");
  EXPECT_EQ(parse_json_object("{\"a\": \"\xff\"}").error(), "not valid JSON");  // bad UTF-8
  EXPECT_EQ(parse_json_object("{} {}").error(), "not valid JSON");
}

TEST(JsonObject, RefusesDuplicateMembersAtAnyDepth) {
  EXPECT_NE(parse_json_object(R"({"sub": "alice", "sub": "admin"})").error().find("duplicate"),
            std::string::npos);
  EXPECT_FALSE(parse_json_object(R"({"a": {"x": 1, "x": 2}})"));
  EXPECT_FALSE(parse_json_object(R"({"a": [{"x": 1, "x": 2}]})"));
  // The same name in sibling objects is not a duplicate.
  EXPECT_TRUE(parse_json_object(R"({"a": {"x": 1}, "b": {"x": 2}, "x": 3})"));
}

TEST(JsonObject, RefusesDeepNesting) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  EXPECT_NE(parse_json_object(deep).error().find("nested"), std::string::npos);
}

std::string b64(std::string_view s) {
  return base64url_encode(s);
}

TEST(CompactJws, SplitsAndDecodes) {
  const std::string header = R"({"alg":"RS256","kid":"k1","typ":"JWT"})";
  const std::string token = b64(header) + "." + b64(R"({"sub":"alice"})") + "." + b64("sig");
  const auto jws = parse_compact_jws(token);
  ASSERT_TRUE(jws) << jws.error();
  EXPECT_EQ(jws->alg, "RS256");
  EXPECT_EQ(jws->kid, "k1");
  EXPECT_EQ(jws->payload, R"({"sub":"alice"})");
  EXPECT_EQ(jws->signature, "sig");
  EXPECT_EQ(jws->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jws->header["typ"], "JWT");
}

TEST(CompactJws, NoKidIsAbsent) {
  const auto jws = parse_compact_jws(b64(R"({"alg":"ES256"})") + "." + b64("{}") + "." + b64("s"));
  ASSERT_TRUE(jws);
  EXPECT_FALSE(jws->kid);
}

TEST(CompactJws, CountsParts) {
  const std::string h = b64(R"({"alg":"HS256"})");
  EXPECT_NE(parse_compact_jws(h + "." + b64("{}")).error().find("2 parts"), std::string::npos);
  EXPECT_NE(parse_compact_jws(h).error().find("1 part;"), std::string::npos);
  EXPECT_NE(parse_compact_jws(h + ".a.b.c").error().find("4 parts"), std::string::npos);
  EXPECT_NE(parse_compact_jws(h + ".a.b.c.d").error().find("JWE"), std::string::npos);
  EXPECT_EQ(parse_compact_jws("").error(), "the token is empty");
}

TEST(CompactJws, RefusesBadBase64Url) {
  const std::string h = b64(R"({"alg":"HS256"})");
  const std::string p = b64("{}");
  EXPECT_EQ(parse_compact_jws("e30=." + p + ".c2ln").error(), "the header is not base64url");
  EXPECT_EQ(parse_compact_jws("." + p + ".c2ln").error(), "the header is not base64url");
  EXPECT_EQ(parse_compact_jws(h + ".e30+.c2ln").error(), "the payload is not base64url");
  EXPECT_EQ(parse_compact_jws(h + "." + p + ".c2ln=").error(), "the signature is not base64url");
}

TEST(CompactJws, RefusesBadHeaders) {
  const std::string rest = "." + b64("{}") + "." + b64("s");
  EXPECT_EQ(parse_compact_jws(b64("not json") + rest).error(), "the header is not valid JSON");
  EXPECT_NE(parse_compact_jws(b64("[\"alg\"]") + rest).error().find("array instead of an object"),
            std::string::npos);
  EXPECT_EQ(parse_compact_jws(b64(R"({"typ":"JWT"})") + rest).error(), "the header has no \"alg\"");
  EXPECT_EQ(parse_compact_jws(b64(R"({"alg":256})") + rest).error(),
            "the header \"alg\" is not a string");
  EXPECT_EQ(parse_compact_jws(b64(R"({"alg":"HS256","kid":7})") + rest).error(),
            "the header \"kid\" is not a string");
  EXPECT_NE(
      parse_compact_jws(b64(R"({"alg":"HS256","alg":"none"})") + rest).error().find("duplicate"),
      std::string::npos);
}

TEST(CompactJws, RefusesCriticalExtensions) {
  const std::string token =
      b64(R"({"alg":"HS256","b64":false,"crit":["b64"]})") + "." + b64("{}") + "." + b64("s");
  EXPECT_NE(parse_compact_jws(token).error().find("crit"), std::string::npos);
}

TEST(CompactJws, RefusesHugeTokens) {
  const std::string token =
      b64(R"({"alg":"HS256"})") + "." + std::string(kMaxTokenBytes, 'A') + "." + b64("s");
  const auto error = parse_compact_jws(token).error();
  EXPECT_NE(error.find("limit is 16384"), std::string::npos) << error;
}

TEST(CompactJws, ErrorsNeverEchoTheToken) {
  const std::string payload = b64(R"({"secret":"do-not-echo"})");
  for (const std::string& token :
       {b64("garbage") + "." + payload + ".c2ln", b64(R"({"alg":"HS256"})") + "." + payload,
        b64(R"({"alg":"HS256"})") + "." + payload + ".c2ln="}) {
    const auto error = parse_compact_jws(token).error();
    EXPECT_EQ(error.find(payload), std::string::npos) << error;
    EXPECT_EQ(error.find("do-not-echo"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace portcullis::authn

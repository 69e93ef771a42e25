// Parsing `Authorization: Basic ...`: what is not Basic is NotPresent (the next authenticator
// decides), what is Basic but broken is basic.malformed (never skipped), and the challenge.
#include <gtest/gtest.h>

#include "authn/basic.h"

namespace portcullis::authn {
namespace {

std::string b64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto v = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                   (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const auto v = std::uint32_t(std::uint8_t(in[i])) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto v =
        (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out += "=";
  }
  return out;
}

BasicCredentials expect_credentials(std::string_view header) {
  ParsedBasic parsed = parse_basic_authorization(header);
  auto* creds = std::get_if<BasicCredentials>(&parsed);
  EXPECT_NE(creds, nullptr) << header;
  return creds != nullptr ? *creds : BasicCredentials{};
}

core::Denial expect_malformed(std::string_view header) {
  ParsedBasic parsed = parse_basic_authorization(header);
  auto* rejected = std::get_if<Rejected>(&parsed);
  EXPECT_NE(rejected, nullptr) << header;
  if (rejected == nullptr) return {};
  EXPECT_EQ(rejected->denial.code, core::DenialCode::BasicMalformed) << header;
  EXPECT_EQ(rejected->denial.effective_status(), 400) << header;
  EXPECT_FALSE(rejected->denial.detail.empty()) << header;
  return rejected->denial;
}

TEST(BasicParse, OtherSchemesAndAbsenceAreNotPresent) {
  for (const std::string_view h : {"", "   ", "Bearer abc.def.ghi", "Negotiate YIIB",
                                   "Basicx YWxpY2U6eA==", "Digest username=\"a\"", "Bas"}) {
    EXPECT_TRUE(std::holds_alternative<NotPresent>(parse_basic_authorization(h))) << h;
  }
}

TEST(BasicParse, DecodesUserAndPassword) {
  auto c = expect_credentials("Basic " + b64("alice:secret"));
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "secret");

  c = expect_credentials("basic " + b64("alice:secret"));  // scheme is case-insensitive
  EXPECT_EQ(c.user, "alice");
  c = expect_credentials("BASIC   " + b64("alice:secret") + "  ");
  EXPECT_EQ(c.password, "secret");

  c = expect_credentials("Basic " + b64("alice:pa:ss:word"));  // the first colon splits
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "pa:ss:word");

  c = expect_credentials("Basic " + b64("alice:"));  // empty password
  EXPECT_EQ(c.password, "");

  c = expect_credentials("Basic " + b64(":x"));  // empty user: an unknown user, not malformed
  EXPECT_EQ(c.user, "");

  c = expect_credentials("Basic " + b64("J\xC3\xBCrgen:p\xC3\xA4ss w\xC3\xB6rd"));  // UTF-8
  EXPECT_EQ(c.user, "J\xC3\xBCrgen");
  EXPECT_EQ(c.password, "p\xC3\xA4ss w\xC3\xB6rd");

  c = expect_credentials("Basic " + b64("ab:c"));  // lengths 4, 5 and 6 cover all paddings
  EXPECT_EQ(c.password, "c");
  c = expect_credentials("Basic " + b64("ab:cd"));
  EXPECT_EQ(c.password, "cd");
  c = expect_credentials("Basic " + b64("ab:cde"));
  EXPECT_EQ(c.password, "cde");
}

TEST(BasicParse, MissingOrBadBase64IsMalformed) {
  expect_malformed("Basic");
  expect_malformed("Basic    ");
  expect_malformed("Basic !!!!");
  expect_malformed("Basic YWxpY2U6c2VjcmV0 extra");        // two tokens
  expect_malformed("Basic YWxp Y2U6c2VjcmV0");             // a space inside
  expect_malformed("Basic YWxpY2U6eA");                    // padding missing
  expect_malformed("Basic YWxpY2U6eA=");                   // length not a multiple of 4
  expect_malformed("Basic YW=xY2U6eA==");                  // '=' in the middle
  expect_malformed("Basic YWxpY2U6eB==");                  // non-zero pad bits
  expect_malformed("Basic YWxpY2U6eA==YWxp");              // data after padding
  expect_malformed("Basic YWxpY2U6e-_=");                  // base64url alphabet
  expect_malformed("Basic " + b64("alice:secret") + "=");  // extra '='
}

TEST(BasicParse, MissingColonIsMalformed) {
  const auto d = expect_malformed("Basic " + b64("alicesecret"));
  EXPECT_NE(d.detail.find("':'"), std::string::npos);
  EXPECT_EQ(d.detail.find("alicesecret"), std::string::npos);
}

TEST(BasicParse, ControlCharactersAreMalformed) {
  for (const std::string& creds :
       {std::string("alice:se\tcret"), std::string("al\x01ice:x"), std::string("alice:x\x7f"),
        std::string("alice:a\0b", 9), std::string("alice:x\r\nX-Injected: 1")}) {
    const auto d = expect_malformed("Basic " + b64(creds));
    EXPECT_NE(d.detail.find("control"), std::string::npos) << d.detail;
  }
}

TEST(BasicParse, OverlongCredentialsAreMalformed) {
  expect_credentials("Basic " + b64(std::string(kMaxBasicUserBytes, 'u') + ":p"));
  expect_malformed("Basic " + b64(std::string(kMaxBasicUserBytes + 1, 'u') + ":p"));
  expect_credentials("Basic " + b64("u:" + std::string(kMaxBasicPasswordBytes, 'p')));
  expect_malformed("Basic " + b64("u:" + std::string(kMaxBasicPasswordBytes + 1, 'p')));
}

TEST(BasicParse, MalformedDetailsNeverContainThePassword) {
  for (const std::string& creds :
       {std::string("alice:TopSecret\x01"), "alice:" + std::string(2000, 'S') + "TopSecret"}) {
    const auto d = expect_malformed("Basic " + b64(creds));
    EXPECT_EQ(d.detail.find("TopSecret"), std::string::npos);
  }
}

TEST(BasicParse, CredentialsCopyAndMove) {
  BasicCredentials a("alice", "secret");
  BasicCredentials b = a;
  BasicCredentials c = std::move(a);
  EXPECT_EQ(b.password, "secret");
  EXPECT_EQ(c.password, "secret");
}

}  // namespace
}  // namespace portcullis::authn

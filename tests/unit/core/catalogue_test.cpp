// The denial catalogue is a public contract: codes are stable, unique and well-formed, and every
// code DESIGN.md promises exists.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/denial.h"

namespace portcullis::core {
namespace {

// ^[a-z]+\.[a-z_]+$ without std::regex (g++ 12 warns inside <regex> at -O2 under -Werror).
bool is_dotted_lower_snake(std::string_view code) {
  const auto dot = code.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == code.size()) return false;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    const bool lower = c >= 'a' && c <= 'z';
    if (i < dot ? !lower : i > dot && !lower && c != '_') return false;
  }
  return true;
}

TEST(Catalogue, CodePatternHelper) {
  EXPECT_TRUE(is_dotted_lower_snake("mtls.cert_missing"));
  EXPECT_TRUE(is_dotted_lower_snake("a.b"));
  for (std::string_view bad :
       {"", ".", "a.", ".b", "a_b.c", "A.b", "a.B", "a.b.c", "a.b1", "ab", "a.b-c", "a .b"}) {
    EXPECT_FALSE(is_dotted_lower_snake(bad)) << bad;
  }
}

TEST(Catalogue, HasOneRowPerCodeInEnumOrder) {
  const auto rows = catalogue();
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(DenialCode::kCount));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(rows[i].id), i) << rows[i].code;
    EXPECT_EQ(&spec(rows[i].id), &rows[i]);
  }
}

TEST(Catalogue, CodesAreUniqueAndDottedLowerSnake) {
  std::set<std::string_view> seen;
  for (const auto& row : catalogue()) {
    EXPECT_TRUE(is_dotted_lower_snake(row.code)) << row.code;
    EXPECT_TRUE(seen.insert(row.code).second) << "duplicate " << row.code;
  }
}

TEST(Catalogue, StatusTitleAndHintAreUsable) {
  for (const auto& row : catalogue()) {
    EXPECT_GE(row.status, 400) << row.code;
    EXPECT_LE(row.status, 599) << row.code;
    EXPECT_FALSE(row.title.empty()) << row.code;
    EXPECT_FALSE(row.hint.empty()) << row.code;
    EXPECT_EQ(row.title.find_first_of("\r\n"), std::string_view::npos) << row.code;
    EXPECT_EQ(row.hint.find_first_of("\r\n"), std::string_view::npos) << row.code;
    EXPECT_NE(stage_name(row.stage), "unknown") << row.code;
  }
}

TEST(Catalogue, FindDenialRoundTrips) {
  for (const auto& row : catalogue()) {
    const auto found = find_denial(row.code);
    ASSERT_TRUE(found.has_value()) << row.code;
    EXPECT_EQ(*found, row.id);
    EXPECT_EQ(spec(*found).code, row.code);
  }
  EXPECT_FALSE(find_denial("").has_value());
  EXPECT_FALSE(find_denial("mtls").has_value());
  EXPECT_FALSE(find_denial("MTLS.CERT_MISSING").has_value());
  EXPECT_FALSE(find_denial("mtls.cert_missing ").has_value());
}

TEST(Catalogue, ContainsEveryCodeDesignLists) {
  // DESIGN.md, "The denial contract" (callout.* is listed there as "later" without names).
  static constexpr std::string_view kDesignCodes[] = {
      "mtls.cert_missing",
      "mtls.chain_incomplete",
      "mtls.issuer_untrusted",
      "mtls.cert_expired",
      "mtls.cert_not_yet_valid",
      "mtls.purpose_invalid",
      "mtls.issuer_dn_mismatch",
      "mtls.cert_revoked",
      "mtls.self_signed",
      "mtls.chain_too_long",
      "mtls.signature_invalid",
      "mtls.ca_invalid",
      "mtls.cert_invalid",
      "authn.required",
      "authn.scheme_not_accepted",
      "basic.malformed",
      "basic.credentials_invalid",
      "basic.locked_out",
      "identity.ambiguous",
      "jwt.malformed",
      "jwt.signature_invalid",
      "jwt.alg_not_allowed",
      "jwt.kid_unknown",
      "jwt.expired",
      "jwt.not_yet_valid",
      "jwt.issuer_mismatch",
      "jwt.audience_mismatch",
      "jwt.jwks_unavailable",
      "authz.denied",
      "route.not_found",
      "request.malformed",
      "request.header_too_large",
      "request.body_too_large",
      "request.timeout",
      "upstream.connect_failed",
      "upstream.dns_failed",
      "upstream.timeout",
      "upstream.reset",
      "upstream.tls_failed",
      "upstream.protocol_error",
      "upstream.unavailable",
  };
  for (const auto code : kDesignCodes) {
    EXPECT_TRUE(find_denial(code).has_value()) << code;
  }
}

TEST(Catalogue, StatusesFollowTheContract) {
  // MTLS denials default to 400 (as nginx and Azure Application Gateway do).
  for (const auto& row : catalogue()) {
    if (row.code.starts_with("mtls.")) {
      EXPECT_EQ(row.status, 400) << row.code;
      EXPECT_EQ(row.stage, Stage::Tls) << row.code;
    }
  }
  EXPECT_EQ(spec(DenialCode::AuthnRequired).status, 401);
  EXPECT_EQ(spec(DenialCode::BasicCredentialsInvalid).status, 401);
  EXPECT_EQ(spec(DenialCode::AuthzDenied).status, 403);
  EXPECT_EQ(spec(DenialCode::RouteNotFound).status, 404);
}

TEST(Denial, EffectiveStatusFallsBackToCatalogue) {
  Denial d = make_denial(DenialCode::AuthzDenied, "rule r1");
  EXPECT_EQ(d.effective_status(), 403);
  EXPECT_EQ(d.detail, "rule r1");
  d.status = 495;
  EXPECT_EQ(d.effective_status(), 495);
}

TEST(Stage, Names) {
  EXPECT_EQ(stage_name(Stage::Tls), "tls");
  EXPECT_EQ(stage_name(Stage::Parse), "parse");
  EXPECT_EQ(stage_name(Stage::Sanitize), "sanitize");
  EXPECT_EQ(stage_name(Stage::Route), "route");
  EXPECT_EQ(stage_name(Stage::Authn), "authn");
  EXPECT_EQ(stage_name(Stage::Authz), "authz");
  EXPECT_EQ(stage_name(Stage::Forward), "forward");
  EXPECT_EQ(stage_name(Stage::Account), "account");
}

}  // namespace
}  // namespace portcullis::core

// The signed identity assertion: claims (identity, anonymous, RFC 8705 cnf), the ES256 header and
// its RFC 7638 kid, verification through the gateway's own JWT verifier (every refusal a jwt.*
// code), and key rotation with the overlap on an injected clock.
#include "authn/assertion_signer.h"

#include <gtest/gtest.h>

#include <openssl/sha.h>

#include <atomic>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "authn/assertion_verifier.h"
#include "authn/jwt_token.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + seconds{1'800'000'000};

core::Identity alice() {
  core::Identity id;
  id.method = "basic";
  id.user = "alice";
  id.groups = {"ops", "dev"};
  return id;
}

AssertionRequest request_for(const core::Identity& identity, std::string_view cert_hex = {}) {
  return AssertionRequest{"api", "0123456789abcdef0123", "app", seconds{60}, &identity, cert_hex};
}

std::shared_ptr<AssertionSigner> rotating_signer(seconds rotate, seconds overlap) {
  auto ring = AssertionKeyRing::generated(rotate, overlap, kT0);
  EXPECT_TRUE(ring) << ring.error().to_string();
  return std::make_shared<AssertionSigner>(std::move(*ring), "portcullis",
                                           std::vector<std::string>{"app", "other"});
}

json header_of(const std::string& token) {
  auto jws = parse_compact_jws(token);
  EXPECT_TRUE(jws) << jws.error();
  return jws ? jws->header : json{};
}

std::string code_of(const std::expected<json, core::Denial>& verified) {
  return verified ? "ok" : std::string(core::spec(verified.error().code).code);
}

TEST(AssertionClaims, AuthenticatedIdentity) {
  const auto id = alice();
  // SHA-256 of the DER, as hex: 32 bytes 0x00..0x1f.
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += fmt::format("{:02x}", i);
  const json claims = assertion_claims("portcullis", request_for(id, hex), kT0);
  EXPECT_EQ(claims["iss"], "portcullis");
  EXPECT_EQ(claims["aud"], "app");
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["iat"], 1'800'000'000);
  EXPECT_EQ(claims["nbf"], 1'800'000'000);
  EXPECT_EQ(claims["exp"], 1'800'000'060);
  EXPECT_EQ(claims["jti"], "0123456789abcdef0123");
  EXPECT_EQ(claims["request_id"], "0123456789abcdef0123");
  EXPECT_EQ(claims["route"], "api");
  EXPECT_EQ(claims["auth_method"], "basic");
  EXPECT_EQ(claims["groups"], json::array({"ops", "dev"}));
  EXPECT_EQ(claims["cnf"]["x5t#S256"], "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
}

TEST(AssertionClaims, AnonymousHasNoSubjectAndMethodNone) {
  const core::Identity anonymous;
  const json claims = assertion_claims("portcullis", request_for(anonymous), kT0);
  EXPECT_FALSE(claims.contains("sub"));
  EXPECT_FALSE(claims.contains("cnf"));
  EXPECT_EQ(claims["auth_method"], "none");
  EXPECT_EQ(claims["groups"], json::array());
}

TEST(AssertionClaims, HexToBase64url) {
  EXPECT_EQ(hex_to_base64url("fbff"), "-_8");
  EXPECT_EQ(hex_to_base64url("FBFF"), "-_8");
  EXPECT_EQ(hex_to_base64url("abc"), "");
  EXPECT_EQ(hex_to_base64url("zz"), "");
}

TEST(JwkThumbprint, Rfc7638Example) {
  const json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
       "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  EXPECT_EQ(*jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_FALSE(jwk_thumbprint(json{{"kty", "oct"}, {"k", "AAAA"}}));
  EXPECT_FALSE(jwk_thumbprint(json{{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}}));
}

TEST(JwkThumbprint, EcUsesCrvKtyXYOnly) {
  const json jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", "X"},
                    {"y", "Y"},    {"kid", "k"},     {"use", "sig"}};
  const std::string canonical = R"({"crv":"P-256","kty":"EC","x":"X","y":"Y"})";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  EXPECT_EQ(*jwk_thumbprint(jwk),
            base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), 32)));
}

TEST(AssertionSigner, Es256HeaderWithThumbprintKid) {
  const auto signer = rotating_signer(seconds{3600}, seconds{61});
  const auto id = alice();
  const auto token = signer->sign(request_for(id), kT0);
  ASSERT_TRUE(token) << token.error().to_string();
  const json header = header_of(*token);
  const auto keys = signer->keys(kT0);
  EXPECT_EQ(header, (json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", keys->current->kid}}));
  EXPECT_EQ(keys->current->kid, *jwk_thumbprint(keys->current->jwk));
  EXPECT_EQ(keys->jwks["keys"].size(), 1u);
  const json& jwk = keys->jwks["keys"][0];
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(jwk["alg"], "ES256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_FALSE(jwk.contains("d")) << "never a private member";
}

TEST(AssertionVerifier, RoundTripAndEveryRefusal) {
  const auto signer = rotating_signer(seconds{3600}, seconds{61});
  const auto id = alice();
  const auto token = *signer->sign(request_for(id), kT0);

  const auto verified = verify_assertion(*signer, token, {}, kT0 + seconds{1});
  ASSERT_TRUE(verified) << verified.error().detail;
  EXPECT_EQ((*verified)["sub"], "alice");
  EXPECT_EQ((*verified)["groups"], json::array({"ops", "dev"}));

  const std::vector<std::string> app{"app"};
  const std::vector<std::string> other{"billing"};
  EXPECT_EQ(code_of(verify_assertion(*signer, token, app, kT0)), "ok");
  EXPECT_EQ(code_of(verify_assertion(*signer, token, other, kT0)), "jwt.audience_mismatch");
  EXPECT_EQ(code_of(verify_assertion(*signer, token, {}, kT0 + seconds{60})), "jwt.expired");
  EXPECT_EQ(code_of(verify_assertion(*signer, token, {}, kT0 - seconds{5})), "jwt.not_yet_valid");

  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of(verify_assertion(*signer, tampered, {}, kT0)), "jwt.signature_invalid");
  EXPECT_EQ(code_of(verify_assertion(*signer, "not.a.jwt", {}, kT0)), "jwt.malformed");
  EXPECT_EQ(code_of(verify_assertion(*signer, "", {}, kT0)), "jwt.malformed");

  // Signed by another gateway (another ring): its kid is unknown here.
  const auto stranger = rotating_signer(seconds{3600}, seconds{61});
  const auto foreign = *stranger->sign(request_for(id), kT0);
  const auto refused = verify_assertion(*signer, foreign, {}, kT0);
  EXPECT_EQ(code_of(refused), "jwt.kid_unknown");
  EXPECT_EQ(refused.error().detail.find(foreign), std::string::npos) << "never the token";
}

TEST(AssertionVerifier, AnonymousAssertionVerifies) {
  const auto signer = rotating_signer(seconds{3600}, seconds{61});
  const core::Identity anonymous;
  const auto token = *signer->sign(request_for(anonymous), kT0);
  const auto verified = verify_assertion(*signer, token, {}, kT0);
  ASSERT_TRUE(verified) << verified.error().detail;
  EXPECT_EQ((*verified)["auth_method"], "none");
}

TEST(AssertionKeyRing, RotationKeepsTheOldKeyForTheOverlap) {
  // rotate every 10 s; a retired key stays published 6 s (a 5 s ttl plus grace).
  const auto signer = rotating_signer(seconds{10}, seconds{6});
  const auto id = alice();
  auto request = request_for(id);
  request.ttl = seconds{5};
  const std::string first_kid = signer->keys(kT0)->current->kid;
  const auto old_token = *signer->sign(request, kT0 + seconds{9});
  EXPECT_EQ(header_of(old_token)["kid"], first_kid);

  // At 10 s a new key signs; the first is still published and its assertion still verifies.
  const auto rotated = signer->keys(kT0 + seconds{10});
  EXPECT_NE(rotated->current->kid, first_kid);
  ASSERT_EQ(rotated->retired.size(), 1u);
  EXPECT_EQ(rotated->retired[0]->kid, first_kid);
  EXPECT_EQ(rotated->jwks["keys"].size(), 2u);
  EXPECT_EQ(header_of(*signer->sign(request, kT0 + seconds{10}))["kid"], rotated->current->kid);
  EXPECT_EQ(code_of(verify_assertion(*signer, old_token, {}, kT0 + seconds{13})), "ok");
  // The assertion expires at 14 s; the key is gone at 16 s (10 + overlap).
  EXPECT_EQ(code_of(verify_assertion(*signer, old_token, {}, kT0 + seconds{14})), "jwt.expired");
  EXPECT_EQ(signer->keys(kT0 + seconds{15})->jwks["keys"].size(), 2u);
  const auto later = signer->keys(kT0 + seconds{16});
  EXPECT_TRUE(later->retired.empty());
  EXPECT_EQ(later->jwks["keys"].size(), 1u);
  EXPECT_EQ(later->current->kid, rotated->current->kid);
}

TEST(AssertionKeyRing, LateRotationCountsTheOverlapFromTheSwap) {
  const auto signer = rotating_signer(seconds{10}, seconds{6});
  const std::string first_kid = signer->keys(kT0)->current->kid;
  // Nobody asked for 100 s: the first key may have signed until now, so it stays 6 s from now.
  const auto late = signer->keys(kT0 + seconds{100});
  ASSERT_EQ(late->retired.size(), 1u);
  EXPECT_EQ(late->retired[0]->kid, first_kid);
  EXPECT_EQ(late->retired[0]->published_until, kT0 + seconds{106});
  EXPECT_EQ(late->next_change, kT0 + seconds{106});
  // Two more rotations: at most the keys within their overlap are published.
  EXPECT_EQ(signer->keys(kT0 + seconds{110})->jwks["keys"].size(), 2u);
}

TEST(AssertionKeyRing, FixedKeyMustBeP256AndNeverRotates) {
  auto p384 = generate_ec_key("P-384");
  ASSERT_TRUE(p384);
  const auto refused = AssertionKeyRing::fixed(*p384, "\"k.pem\"", kT0);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("P-256"), std::string::npos) << refused.error().message;
  auto rsa = generate_rsa_key(2048);
  ASSERT_TRUE(rsa);
  EXPECT_FALSE(AssertionKeyRing::fixed(*rsa, "\"k.pem\"", kT0));

  auto p256 = generate_ec_key("P-256");
  ASSERT_TRUE(p256);
  auto ring = AssertionKeyRing::fixed(*p256, "\"k.pem\"", kT0);
  ASSERT_TRUE(ring) << ring.error().to_string();
  const std::string kid = (*ring)->snapshot(kT0)->current->kid;
  EXPECT_EQ((*ring)->snapshot(kT0 + seconds{365 * 24 * 3600})->current->kid, kid);
}

TEST(AssertionKeyRing, ConcurrentSignersDuringRotation) {
  const auto signer = rotating_signer(seconds{1}, seconds{3});
  const auto id = alice();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::atomic<int> ticks{0};  // one shared clock: 10 ms per signature, rotations every 100
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        const TimePoint now = kT0 + std::chrono::milliseconds{10 * ticks.fetch_add(1)};
        auto request = request_for(id);
        request.ttl = seconds{2};
        const auto token = signer->sign(request, now);
        if (!token || !verify_assertion(*signer, *token, {}, now)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace portcullis::authn

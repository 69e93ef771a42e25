// The JWT authenticator end to end on in-test signed tokens: every algorithm, alg=none and alg
// confusion, kid rotation, clock skew both ways with and without leeway, issuer near misses,
// audiences, malformed tokens, required claims, identity mapping and the WWW-Authenticate header.
#include "authn/jwt_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "jwt_test_signer.h"

namespace portcullis::authn {
namespace {

using core::DenialCode;
using jwt_testing::json;
using std::chrono::seconds;

constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z
const auto now_tp = std::chrono::system_clock::time_point(seconds(kNow));

struct Keys {
  jwt_testing::Signer rsa{jwt_testing::generate_rsa(), {}};
  jwt_testing::Signer p256{jwt_testing::generate_ec("P-256"), {}};
  jwt_testing::Signer p384{jwt_testing::generate_ec("P-384"), {}};
  jwt_testing::Signer p521{jwt_testing::generate_ec("P-521"), {}};
  jwt_testing::Signer ed{jwt_testing::generate_ed25519(), {}};
  jwt_testing::Signer hmac{nullptr, std::string(64, 'h')};
  jwt_testing::Signer rsa_next{jwt_testing::generate_rsa(), {}};  // the rotated-in key
};

const Keys& keys() {
  static const Keys k;
  return k;
}

json jwks_json(bool with_next = false) {
  const auto& k = keys();
  json list = json::array({jwt_testing::public_jwk(k.rsa.key.get(), "rsa-1"),
                           jwt_testing::public_jwk(k.p256.key.get(), "ec-256"),
                           jwt_testing::public_jwk(k.p384.key.get(), "ec-384"),
                           jwt_testing::public_jwk(k.p521.key.get(), "ec-521"),
                           jwt_testing::public_jwk(k.ed.key.get(), "ed-1"),
                           jwt_testing::secret_jwk(k.hmac.secret, "hmac-1")});
  if (with_next) list.push_back(jwt_testing::public_jwk(k.rsa_next.key.get(), "rsa-2"));
  return json{{"keys", list}};
}

std::shared_ptr<const KeySet> key_set(const json& document) {
  auto set = KeySet::from_jwks_json(document.dump(), "test-jwks.json");
  if (!set) throw std::runtime_error(set.error().to_string());
  return *set;
}

const std::vector<std::string> kAllAlgs = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                           "PS512", "ES256", "ES384", "ES512", "EdDSA",
                                           "HS256", "HS384", "HS512"};

JwtSettings default_settings() {
  JwtSettings s;
  s.name = "tokens";
  s.issuer = "https://idp.example.com/";
  s.audiences = {"api"};
  s.algorithms = kAllAlgs;
  s.groups_claim = "groups";
  return s;
}

json default_claims() {
  return json{{"iss", "https://idp.example.com/"},
              {"aud", "api"},
              {"sub", "alice"},
              {"exp", kNow + 3600},
              {"iat", kNow - 10},
              {"nbf", kNow - 10},
              {"groups", json::array({"dev", "ops"})},
              {"email", "alice@example.com"}};
}

// The signer and kid of each algorithm in the test key set.
std::pair<const jwt_testing::Signer*, const char*> signer_for(std::string_view alg) {
  const auto& k = keys();
  if (alg.starts_with("RS") || alg.starts_with("PS")) return {&k.rsa, "rsa-1"};
  if (alg == "ES256") return {&k.p256, "ec-256"};
  if (alg == "ES384") return {&k.p384, "ec-384"};
  if (alg == "ES512") return {&k.p521, "ec-521"};
  if (alg == "EdDSA") return {&k.ed, "ed-1"};
  return {&k.hmac, "hmac-1"};
}

std::string token_for(std::string_view alg, const json& claims = default_claims(),
                      bool with_kid = true) {
  const auto [signer, kid] = signer_for(alg);
  json header{{"alg", alg}, {"typ", "JWT"}};
  if (with_kid) header["kid"] = kid;
  return jwt_testing::sign_token(header, claims, alg, *signer);
}

class JwtVerifier : public ::testing::Test {
 protected:
  JwtAuthenticator auth_{default_settings(), key_set(jwks_json())};

  Outcome check(const std::string& token, std::int64_t at = kNow) const {
    return auth_.authenticate("Bearer " + token,
                              std::chrono::system_clock::time_point(seconds(at)));
  }
};

const core::Denial& denial_of(const Outcome& outcome) {
  static const core::Denial none;
  const auto* rejected = std::get_if<Rejected>(&outcome);
  return rejected ? rejected->denial : none;
}

#define EXPECT_DENIED(outcome, expected_code)                                        \
  do {                                                                               \
    const Outcome& out_ = (outcome);                                                 \
    ASSERT_TRUE(std::holds_alternative<Rejected>(out_)) << outcome_name(out_);       \
    EXPECT_EQ(core::spec(denial_of(out_).code).code, core::spec(expected_code).code) \
        << denial_of(out_).detail;                                                   \
  } while (0)

#define EXPECT_ACCEPTED(outcome)                                                       \
  do {                                                                                 \
    const Outcome& out_ = (outcome);                                                   \
    EXPECT_TRUE(std::holds_alternative<Authenticated>(out_))                           \
        << outcome_name(out_) << ": " << core::spec(denial_of(out_).code).code << ": " \
        << denial_of(out_).detail;                                                     \
  } while (0)

// --- the credential ----------------------------------------------------------------------------

TEST_F(JwtVerifier, NoBearerCredentialIsNotPresent) {
  for (const char* header : {"", "   ", "Basic YWxpY2U6c2VjcmV0", "Bearertoken", "Negotiate x"}) {
    EXPECT_TRUE(std::holds_alternative<NotPresent>(auth_.authenticate(header, now_tp))) << header;
  }
}

TEST_F(JwtVerifier, SchemeIsCaseInsensitive) {
  EXPECT_ACCEPTED(auth_.authenticate("bearer " + token_for("ES256"), now_tp));
  EXPECT_ACCEPTED(auth_.authenticate("BEARER   " + token_for("ES256") + " ", now_tp));
}

TEST_F(JwtVerifier, EmptyOrSplitCredentialIsMalformed) {
  EXPECT_DENIED(auth_.authenticate("Bearer", now_tp), DenialCode::JwtMalformed);
  EXPECT_DENIED(auth_.authenticate("Bearer    ", now_tp), DenialCode::JwtMalformed);
  EXPECT_DENIED(auth_.authenticate("Bearer a.b c", now_tp), DenialCode::JwtMalformed);
}

// --- algorithms --------------------------------------------------------------------------------

class EveryAlgorithm : public JwtVerifier, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryAlgorithm, AcceptsAValidToken) {
  const Outcome outcome = check(token_for(GetParam()));
  EXPECT_ACCEPTED(outcome);
  const auto* ok = std::get_if<Authenticated>(&outcome);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->identity.method, "jwt");
  EXPECT_EQ(ok->identity.user, "alice");
}

TEST_P(EveryAlgorithm, AcceptsATokenWithoutKid) {
  EXPECT_ACCEPTED(check(token_for(GetParam(), default_claims(), /*with_kid=*/false)));
}

TEST_P(EveryAlgorithm, RefusesAnAlteredPayload) {
  const std::string token = token_for(GetParam());
  json claims = default_claims();
  claims["sub"] = "admin";
  const std::string forged_payload = base64url_encode(claims.dump());
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  const std::string forged = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
  EXPECT_DENIED(check(forged), DenialCode::JwtSignatureInvalid);
}

TEST_P(EveryAlgorithm, RefusesAFlippedSignatureBit) {
  const std::string token = token_for(GetParam());
  const auto dot2 = token.rfind('.');
  std::string sig = *base64url_decode(std::string_view(token).substr(dot2 + 1));
  sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x10);
  EXPECT_DENIED(check(token.substr(0, dot2 + 1) + base64url_encode(sig)),
                DenialCode::JwtSignatureInvalid);
}

TEST_P(EveryAlgorithm, RefusesAnAlgorithmNotAllowed) {
  JwtSettings settings = default_settings();
  std::erase(settings.algorithms, GetParam());
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const Outcome outcome = auth.authenticate("Bearer " + token_for(GetParam()), now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("is not in the allowed algorithms"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Jwt, EveryAlgorithm, ::testing::ValuesIn(kAllAlgs),
                         [](const auto& info) { return info.param; });

TEST_F(JwtVerifier, RefusesAlgNoneWhateverTheConfiguration) {
  JwtSettings settings = default_settings();
  settings.algorithms.push_back("none");  // bypassing check_settings, which refuses it
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const std::string unsigned_payload = base64url_encode(default_claims().dump());
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string header = base64url_encode(json{{"alg", alg}, {"typ", "JWT"}}.dump());
    const Outcome outcome =
        auth.authenticate("Bearer " + header + "." + unsigned_payload + ".", now_tp);
    EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
    EXPECT_NE(denial_of(outcome).detail.find("unsigned"), std::string::npos);
  }
  // With a signature part copied from a real token: still none.
  const std::string real = token_for("HS256");
  const std::string header = base64url_encode(json{{"alg", "none"}, {"kid", "hmac-1"}}.dump());
  EXPECT_DENIED(
      auth.authenticate("Bearer " + header + "." + unsigned_payload + real.substr(real.rfind('.')),
                        now_tp),
      DenialCode::JwtAlgNotAllowed);
}

TEST_F(JwtVerifier, RefusesUnknownAlgorithms) {
  JwtSettings settings = default_settings();
  settings.algorithms.push_back("ES256K");
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const json header{{"alg", "ES256K"}, {"kid", "ec-256"}};
  const std::string token = jwt_testing::sign_token(header, default_claims(), "ES256", keys().p256);
  const Outcome outcome = auth.authenticate("Bearer " + token, now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("not supported"), std::string::npos);
}

TEST_F(JwtVerifier, RefusesHmacTokenSignedWithTheRsaPublicKey) {
  // The classic alg-confusion forgery: HS256 with the RSA public key PEM as the secret.
  const jwt_testing::Signer forged{nullptr, jwt_testing::public_pem(keys().rsa.key.get())};
  const json header{{"alg", "HS256"}, {"kid", "rsa-1"}};
  const Outcome outcome = check(jwt_testing::sign_token(header, default_claims(), "HS256", forged));
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("alg confusion"), std::string::npos)
      << denial_of(outcome).detail;
  // The same secret as the JWK's "n" bytes or DER: same answer.
  const jwt_testing::Signer n_bytes{
      nullptr,
      *base64url_decode(jwt_testing::public_jwk(keys().rsa.key.get(), "")["n"].get<std::string>())};
  EXPECT_DENIED(check(jwt_testing::sign_token(header, default_claims(), "HS256", n_bytes)),
                DenialCode::JwtAlgNotAllowed);
}

TEST_F(JwtVerifier, RefusesHmacTokenWithoutKidWhenOnlyPublicKeysExist) {
  const jwt_testing::Signer forged{nullptr, jwt_testing::public_pem(keys().rsa.key.get())};
  const JwtAuthenticator auth(
      default_settings(),
      key_set(
          json{{"keys", json::array({jwt_testing::public_jwk(keys().rsa.key.get(), "rsa-1")})}}));
  const std::string token =
      jwt_testing::sign_token(json{{"alg", "HS256"}}, default_claims(), "HS256", forged);
  const Outcome outcome = auth.authenticate("Bearer " + token, now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("no oct (shared secret) key"), std::string::npos)
      << denial_of(outcome).detail;
}

TEST_F(JwtVerifier, RefusesPublicKeyAlgorithmNamingASharedSecret) {
  const json header{{"alg", "RS256"}, {"kid", "hmac-1"}};
  const Outcome outcome =
      check(jwt_testing::sign_token(header, default_claims(), "RS256", keys().rsa));
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("RS256 needs an RSA key"), std::string::npos)
      << denial_of(outcome).detail;
}

TEST_F(JwtVerifier, RefusesACurveMismatch) {
  const json header{{"alg", "ES256"}, {"kid", "ec-384"}};
  const Outcome outcome =
      check(jwt_testing::sign_token(header, default_claims(), "ES256", keys().p256));
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(
      denial_of(outcome).detail.find("ES256 needs an EC P-256 key; kid \"ec-384\" (EC P-384)"),
      std::string::npos)
      << denial_of(outcome).detail;
}

TEST_F(JwtVerifier, RefusesHmacSecretShorterThanTheHash) {
  const jwt_testing::Signer short_secret{nullptr, std::string(32, 'z')};
  const JwtAuthenticator auth(
      default_settings(),
      key_set(json{{"keys", json::array({jwt_testing::secret_jwk(short_secret.secret, "h32")})}}));
  const json header{{"alg", "HS512"}, {"kid", "h32"}};
  const Outcome outcome = auth.authenticate(
      "Bearer " + jwt_testing::sign_token(header, default_claims(), "HS512", short_secret), now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtAlgNotAllowed);
  EXPECT_NE(denial_of(outcome).detail.find("at least 512 bits"), std::string::npos);
  const json ok_header{{"alg", "HS256"}, {"kid", "h32"}};
  EXPECT_ACCEPTED(auth.authenticate(
      "Bearer " + jwt_testing::sign_token(ok_header, default_claims(), "HS256", short_secret),
      now_tp));
}

TEST_F(JwtVerifier, RefusesEcdsaSignaturesInDerOrWrongLength) {
  const json header{{"alg", "ES256"}, {"kid", "ec-256"}};
  const std::string input =
      base64url_encode(header.dump()) + "." + base64url_encode(default_claims().dump());
  const std::string der = jwt_testing::sign_bytes("ES256", keys().p256, input, /*der_ecdsa=*/true);
  EXPECT_DENIED(check(input + "." + base64url_encode(der)), DenialCode::JwtSignatureInvalid);
  const std::string raw = jwt_testing::sign_bytes("ES256", keys().p256, input);
  EXPECT_ACCEPTED(check(input + "." + base64url_encode(raw)));
  EXPECT_DENIED(check(input + "." + base64url_encode(raw.substr(0, 63))),
                DenialCode::JwtSignatureInvalid);
  EXPECT_DENIED(check(input + "." + base64url_encode(raw + '\0')), DenialCode::JwtSignatureInvalid);
  EXPECT_DENIED(check(input + "." + base64url_encode(std::string(64, '\0'))),
                DenialCode::JwtSignatureInvalid);  // r = s = 0
}

TEST_F(JwtVerifier, RefusesASignatureByAnotherKeyUnderTheSameKid) {
  const json header{{"alg", "RS256"}, {"kid", "rsa-1"}};
  const Outcome outcome =
      check(jwt_testing::sign_token(header, default_claims(), "RS256", keys().rsa_next));
  EXPECT_DENIED(outcome, DenialCode::JwtSignatureInvalid);
  EXPECT_NE(denial_of(outcome).detail.find("does not verify with kid \"rsa-1\" (RSA 2048)"),
            std::string::npos)
      << denial_of(outcome).detail;
}

// --- keys and rotation -------------------------------------------------------------------------

TEST_F(JwtVerifier, KidRotation) {
  const json header{{"alg", "RS256"}, {"kid", "rsa-2"}};
  const std::string token =
      jwt_testing::sign_token(header, default_claims(), "RS256", keys().rsa_next);
  const Outcome before = check(token);
  EXPECT_DENIED(before, DenialCode::JwtKidUnknown);
  EXPECT_TRUE(JwtAuthenticator::needs_key_refresh(before));
  EXPECT_NE(denial_of(before).detail.find("no key with this kid in test-jwks.json"),
            std::string::npos)
      << denial_of(before).detail;
  EXPECT_NE(denial_of(before).detail.find("\"rsa-1\""), std::string::npos);

  auth_.set_keys(key_set(jwks_json(/*with_next=*/true)));
  const Outcome after = check(token);
  EXPECT_ACCEPTED(after);
  EXPECT_FALSE(JwtAuthenticator::needs_key_refresh(after));
  EXPECT_ACCEPTED(check(token_for("RS256")));  // the old key is still published
}

TEST_F(JwtVerifier, OnlyKidUnknownAsksForARefresh) {
  EXPECT_FALSE(JwtAuthenticator::needs_key_refresh(NotPresent{}));
  EXPECT_FALSE(JwtAuthenticator::needs_key_refresh(check("x.y")));
  EXPECT_FALSE(JwtAuthenticator::needs_key_refresh(check(token_for("ES256"), kNow + 7200)));
}

TEST_F(JwtVerifier, NoKeysLoadedIsKidUnknown) {
  auth_.set_keys(nullptr);
  const Outcome outcome = check(token_for("RS256"));
  EXPECT_DENIED(outcome, DenialCode::JwtKidUnknown);
  EXPECT_TRUE(JwtAuthenticator::needs_key_refresh(outcome));
  EXPECT_EQ(auth_.keys(), nullptr);
}

TEST_F(JwtVerifier, UnknownKidFallsBackToKeysWithoutKid) {
  const JwtAuthenticator auth(
      default_settings(),
      key_set(json{{"keys", json::array({jwt_testing::public_jwk(keys().p256.key.get(), "")})}}));
  const json header{{"alg", "ES256"}, {"kid", "whatever"}};
  EXPECT_ACCEPTED(auth.authenticate(
      "Bearer " + jwt_testing::sign_token(header, default_claims(), "ES256", keys().p256), now_tp));
}

TEST_F(JwtVerifier, NoKidAndNoKeyOfThatTypeIsKidUnknown) {
  const JwtAuthenticator auth(
      default_settings(),
      key_set(json{{"keys", json::array({jwt_testing::public_jwk(keys().p256.key.get(), "ec")})}}));
  const Outcome outcome = auth.authenticate(
      "Bearer " + token_for("RS256", default_claims(), /*with_kid=*/false), now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtKidUnknown);
  EXPECT_NE(denial_of(outcome).detail.find("has no kid"), std::string::npos);
}

TEST_F(JwtVerifier, SetKeysIsSafeWhileAuthenticating) {
  const std::string token = token_for("ES256");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!stop.load()) {
      if (!std::holds_alternative<Authenticated>(check(token))) ++failures;
    }
  });
  const auto a = key_set(jwks_json());
  const auto b = key_set(jwks_json(true));
  for (int i = 0; i < 200; ++i) auth_.set_keys(i % 2 == 0 ? a : b);
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- time --------------------------------------------------------------------------------------

json claims_with(std::initializer_list<std::pair<const char*, json>> changes) {
  json claims = default_claims();
  for (const auto& [name, value] : changes) {
    if (value.is_null()) {
      claims.erase(name);
    } else {
      claims[name] = value;
    }
  }
  return claims;
}

TEST_F(JwtVerifier, ExpiredBeyondLeeway) {
  const Outcome outcome = check(token_for("ES256", claims_with({{"exp", kNow - 300}})));
  EXPECT_DENIED(outcome, DenialCode::JwtExpired);
  const std::string& detail = denial_of(outcome).detail;
  EXPECT_NE(detail.find("expired at 2023-11-14T22:08:20Z (1699999700)"), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("gateway time 2023-11-14T22:13:20Z (1700000000)"), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("300 s ago"), std::string::npos) << detail;
  EXPECT_NE(detail.find("leeway of 60 s"), std::string::npos) << detail;
}

TEST_F(JwtVerifier, ExpiredWithinLeewayIsAccepted) {
  EXPECT_ACCEPTED(check(token_for("ES256", claims_with({{"exp", kNow - 59}}))));
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"exp", kNow - 60}}))),
                DenialCode::JwtExpired);
}

TEST_F(JwtVerifier, WithoutLeewayExpIsExclusive) {
  JwtSettings settings = default_settings();
  settings.leeway = seconds(0);
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const auto at = [&](const json& claims) {
    return auth.authenticate("Bearer " + token_for("ES256", claims), now_tp);
  };
  EXPECT_DENIED(at(claims_with({{"exp", kNow}})), DenialCode::JwtExpired);
  EXPECT_ACCEPTED(at(claims_with({{"exp", kNow + 1}})));
  EXPECT_DENIED(at(claims_with({{"nbf", kNow + 1}})), DenialCode::JwtNotYetValid);
  EXPECT_ACCEPTED(at(claims_with({{"nbf", kNow}})));
  EXPECT_DENIED(at(claims_with({{"iat", kNow + 1}})), DenialCode::JwtNotYetValid);
}

TEST_F(JwtVerifier, TokenFromTheFutureNamesClockSkew) {
  const Outcome outcome =
      check(token_for("ES256", claims_with({{"nbf", kNow + 120}, {"iat", kNow + 120}})));
  EXPECT_DENIED(outcome, DenialCode::JwtNotYetValid);
  const std::string& detail = denial_of(outcome).detail;
  EXPECT_NE(detail.find("not valid before 2023-11-14T22:15:20Z (1700000120) (nbf)"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("gateway time 2023-11-14T22:13:20Z"), std::string::npos) << detail;
  EXPECT_NE(detail.find("120 s in the future"), std::string::npos) << detail;
  EXPECT_NE(detail.find("clock skew"), std::string::npos) << detail;
}

TEST_F(JwtVerifier, IssuedInTheFutureNamesClockSkew) {
  const Outcome outcome = check(token_for("ES256", claims_with({{"iat", kNow + 90}})));
  EXPECT_DENIED(outcome, DenialCode::JwtNotYetValid);
  EXPECT_NE(denial_of(outcome).detail.find("was issued at"), std::string::npos);
  EXPECT_NE(denial_of(outcome).detail.find("clock skew"), std::string::npos);
}

TEST_F(JwtVerifier, FutureWithinLeewayIsAccepted) {
  EXPECT_ACCEPTED(check(token_for("ES256", claims_with({{"nbf", kNow + 60}, {"iat", kNow + 60}}))));
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"nbf", kNow + 61}}))),
                DenialCode::JwtNotYetValid);
}

TEST_F(JwtVerifier, GatewayClockBehindOrAhead) {
  const std::string token = token_for("ES256");  // iat/nbf kNow-10, exp kNow+3600
  EXPECT_ACCEPTED(check(token, kNow - 70));      // gateway 60 s behind the issuer: leeway
  EXPECT_DENIED(check(token, kNow - 71), DenialCode::JwtNotYetValid);
  EXPECT_ACCEPTED(check(token, kNow + 3659));  // gateway ahead: still within leeway
  EXPECT_DENIED(check(token, kNow + 3660), DenialCode::JwtExpired);
}

TEST_F(JwtVerifier, LargeLeeway) {
  JwtSettings settings = default_settings();
  settings.leeway = seconds(300);
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  EXPECT_ACCEPTED(auth.authenticate(
      "Bearer " + token_for("ES256", claims_with({{"exp", kNow - 299}})), now_tp));
  EXPECT_ACCEPTED(auth.authenticate(
      "Bearer " + token_for("ES256", claims_with({{"nbf", kNow + 299}})), now_tp));
}

TEST_F(JwtVerifier, MissingExpIsRefused) {
  const Outcome outcome = check(token_for("ES256", claims_with({{"exp", nullptr}})));
  EXPECT_DENIED(outcome, DenialCode::JwtMalformed);
  EXPECT_NE(denial_of(outcome).detail.find("\"exp\" is missing"), std::string::npos);
}

TEST_F(JwtVerifier, NonNumericTimesAreMalformed) {
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"exp", "tomorrow"}}))),
                DenialCode::JwtMalformed);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"nbf", true}}))), DenialCode::JwtMalformed);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"iat", json::array({1})}}))),
                DenialCode::JwtMalformed);
  // Fractional NumericDates are valid.
  EXPECT_ACCEPTED(check(token_for("ES256", claims_with({{"exp", kNow + 0.5 + 100}}))));
  // A huge exp is far in the future, not an overflow; a hugely negative one stays a short detail.
  EXPECT_ACCEPTED(check(token_for("ES256", claims_with({{"exp", 1e300}}))));
  const Outcome ancient = check(token_for("ES256", claims_with({{"exp", -1e300}})));
  EXPECT_DENIED(ancient, DenialCode::JwtExpired);
  EXPECT_LT(denial_of(ancient).detail.size(), 250u) << denial_of(ancient).detail;
}

// --- issuer and audience -----------------------------------------------------------------------

TEST_F(JwtVerifier, IssuerTrailingSlash) {
  const Outcome outcome =
      check(token_for("ES256", claims_with({{"iss", "https://idp.example.com"}})));
  EXPECT_DENIED(outcome, DenialCode::JwtIssuerMismatch);
  const std::string& detail = denial_of(outcome).detail;
  EXPECT_NE(detail.find("token iss \"https://idp.example.com\" does not equal the configured "
                        "issuer \"https://idp.example.com/\""),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("they differ only by a trailing slash (the configured one has it)"),
            std::string::npos)
      << detail;
}

TEST_F(JwtVerifier, IssuerTrailingSlashTheOtherWay) {
  JwtSettings settings = default_settings();
  settings.issuer = "https://idp.example.com";
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const Outcome outcome = auth.authenticate("Bearer " + token_for("ES256"), now_tp);
  EXPECT_DENIED(outcome, DenialCode::JwtIssuerMismatch);
  EXPECT_NE(denial_of(outcome).detail.find("trailing slash (the token's has it)"),
            std::string::npos)
      << denial_of(outcome).detail;
}

TEST_F(JwtVerifier, IssuerSchemeAndCase) {
  const Outcome scheme =
      check(token_for("ES256", claims_with({{"iss", "http://idp.example.com/"}})));
  EXPECT_DENIED(scheme, DenialCode::JwtIssuerMismatch);
  EXPECT_NE(denial_of(scheme).detail.find("differ only by the scheme (http vs https)"),
            std::string::npos)
      << denial_of(scheme).detail;
  const Outcome letter_case =
      check(token_for("ES256", claims_with({{"iss", "https://IdP.example.com/"}})));
  EXPECT_NE(denial_of(letter_case).detail.find("differ only by letter case"), std::string::npos)
      << denial_of(letter_case).detail;
  const Outcome both = check(token_for("ES256", claims_with({{"iss", "http://IDP.example.com"}})));
  EXPECT_NE(denial_of(both).detail.find(
                "the scheme (http vs https), a trailing slash (the configured one has it) and "
                "letter case"),
            std::string::npos)
      << denial_of(both).detail;
}

TEST_F(JwtVerifier, IssuerDifferentAltogether) {
  const Outcome outcome =
      check(token_for("ES256", claims_with({{"iss", "https://evil.example/"}})));
  EXPECT_DENIED(outcome, DenialCode::JwtIssuerMismatch);
  EXPECT_EQ(denial_of(outcome).detail.find("differ only"), std::string::npos);
}

TEST_F(JwtVerifier, IssuerMissingOrNotAString) {
  const Outcome missing = check(token_for("ES256", claims_with({{"iss", nullptr}})));
  EXPECT_DENIED(missing, DenialCode::JwtIssuerMismatch);
  EXPECT_NE(denial_of(missing).detail.find("no \"iss\" claim"), std::string::npos);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"iss", 42}}))), DenialCode::JwtMalformed);
}

TEST_F(JwtVerifier, AudienceArrays) {
  EXPECT_ACCEPTED(check(token_for("ES256", claims_with({{"aud", json::array({"other", "api"})}}))));
  const Outcome none = check(token_for("ES256", claims_with({{"aud", json::array({"a", "b"})}})));
  EXPECT_DENIED(none, DenialCode::JwtAudienceMismatch);
  EXPECT_NE(denial_of(none).detail.find(
                "token aud [\"a\", \"b\"] contains none of the configured audiences [\"api\"]"),
            std::string::npos)
      << denial_of(none).detail;
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"aud", json::array()}}))),
                DenialCode::JwtAudienceMismatch);
}

TEST_F(JwtVerifier, AudienceStringAndSeveralConfigured) {
  JwtSettings settings = default_settings();
  settings.audiences = {"https://api.example.com/", "api"};
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  EXPECT_ACCEPTED(auth.authenticate("Bearer " + token_for("ES256"), now_tp));
  const Outcome near = auth.authenticate(
      "Bearer " + token_for("ES256", claims_with({{"aud", "https://api.example.com"}})), now_tp);
  EXPECT_DENIED(near, DenialCode::JwtAudienceMismatch);
  EXPECT_NE(denial_of(near).detail.find("trailing slash"), std::string::npos)
      << denial_of(near).detail;
}

TEST_F(JwtVerifier, AudienceMissingOrMistyped) {
  const Outcome missing = check(token_for("ES256", claims_with({{"aud", nullptr}})));
  EXPECT_DENIED(missing, DenialCode::JwtAudienceMismatch);
  EXPECT_NE(denial_of(missing).detail.find("no \"aud\" claim"), std::string::npos);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"aud", 7}}))), DenialCode::JwtMalformed);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"aud", json::array({"api", 7})}}))),
                DenialCode::JwtMalformed);
}

// --- malformed tokens --------------------------------------------------------------------------

TEST_F(JwtVerifier, MalformedTokens) {
  const std::string good = token_for("HS256");
  const std::string header = good.substr(0, good.find('.'));
  const std::string payload = base64url_encode(default_claims().dump());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"two parts", header + "." + payload},
      {"four parts", good + ".x"},
      {"JWE", "a.b.c.d.e"},
      {"padding", header + "=." + payload + ".c2ln"},
      {"standard base64", header + "." + payload + "+/.c2ln"},
      {"non-JSON header", base64url_encode("alg: HS256") + "." + payload + ".c2ln"},
      {"header array", base64url_encode("[\"HS256\"]") + "." + payload + ".c2ln"},
      {"no alg", base64url_encode(R"({"typ":"JWT"})") + "." + payload + ".c2ln"},
      {"crit", base64url_encode(R"({"alg":"HS256","crit":["exp"]})") + "." + payload + ".c2ln"},
      {"empty header", "." + payload + ".c2ln"},
  };
  for (const auto& [what, token] : cases) {
    const Outcome outcome = check(token);
    EXPECT_DENIED(outcome, DenialCode::JwtMalformed);
    EXPECT_FALSE(denial_of(outcome).detail.empty()) << what;
  }
}

TEST_F(JwtVerifier, NonObjectPayloadIsMalformedAfterTheSignature) {
  const auto& hmac = keys().hmac;
  const json header{{"alg", "HS256"}, {"kid", "hmac-1"}};
  for (const char* payload :
       {"[1,2,3]", "\"alice\"", "42", "not json", "", R"({"sub":"a","sub":"admin"})"}) {
    const Outcome outcome = check(jwt_testing::sign_raw(header, payload, "HS256", hmac));
    EXPECT_DENIED(outcome, DenialCode::JwtMalformed);
    EXPECT_NE(denial_of(outcome).detail.find("payload (claims set)"), std::string::npos)
        << payload << ": " << denial_of(outcome).detail;
  }
  // Unsigned garbage is a signature failure first: nothing unsigned is parsed.
  const jwt_testing::Signer wrong{nullptr, std::string(64, 'w')};
  EXPECT_DENIED(check(jwt_testing::sign_raw(header, "[1]", "HS256", wrong)),
                DenialCode::JwtSignatureInvalid);
}

TEST_F(JwtVerifier, HugeTokenIsRefused) {
  json claims = default_claims();
  claims["padding"] = std::string(16 * 1024, 'x');
  const Outcome outcome = check(token_for("HS256", claims));
  EXPECT_DENIED(outcome, DenialCode::JwtMalformed);
  EXPECT_NE(denial_of(outcome).detail.find("the limit is 16384"), std::string::npos);
  // Just under the limit is fine.
  claims["padding"] = std::string(11 * 1024, 'x');
  EXPECT_ACCEPTED(check(token_for("HS256", claims)));
}

// --- claims and identity -----------------------------------------------------------------------

TEST_F(JwtVerifier, RequiredClaims) {
  JwtSettings settings = default_settings();
  settings.required_claims = {"email", "tenant"};
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const Outcome missing = auth.authenticate("Bearer " + token_for("ES256"), now_tp);
  EXPECT_DENIED(missing, DenialCode::JwtMalformed);
  EXPECT_NE(denial_of(missing).detail.find("required claim \"tenant\" is missing"),
            std::string::npos)
      << denial_of(missing).detail;
  json null_tenant = default_claims();
  null_tenant["tenant"] = nullptr;  // present but null counts as missing
  EXPECT_DENIED(auth.authenticate("Bearer " + token_for("ES256", null_tenant), now_tp),
                DenialCode::JwtMalformed);
  EXPECT_ACCEPTED(auth.authenticate(
      "Bearer " + token_for("ES256", claims_with({{"tenant", json::object({{"id", 1}})}})),
      now_tp));
}

TEST_F(JwtVerifier, IdentityFromClaims) {
  const Outcome outcome = check(token_for("RS256"));
  const auto* ok = std::get_if<Authenticated>(&outcome);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->identity.user, "alice");
  EXPECT_EQ(ok->identity.groups, (std::vector<std::string>{"dev", "ops"}));
  EXPECT_EQ(ok->identity.claims.at("email"), "alice@example.com");
  EXPECT_EQ(ok->identity.claims.at("iss"), "https://idp.example.com/");
  EXPECT_EQ(ok->identity.claims.count("exp"), 0u);  // string-valued claims only
  EXPECT_TRUE(ok->identity.authenticated());
}

TEST_F(JwtVerifier, CustomUserAndGroupClaims) {
  JwtSettings settings = default_settings();
  settings.user_claim = "email";
  settings.groups_claim = "role";
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  const Outcome one =
      auth.authenticate("Bearer " + token_for("ES256", claims_with({{"role", "admin"}})), now_tp);
  const auto* ok = std::get_if<Authenticated>(&one);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->identity.user, "alice@example.com");
  EXPECT_EQ(ok->identity.groups, std::vector<std::string>{"admin"});
  const Outcome none = auth.authenticate("Bearer " + token_for("ES256"), now_tp);
  ASSERT_TRUE(std::holds_alternative<Authenticated>(none));
  EXPECT_TRUE(std::get<Authenticated>(none).identity.groups.empty());
  EXPECT_DENIED(
      auth.authenticate("Bearer " + token_for("ES256", claims_with({{"role", json::object()}})),
                        now_tp),
      DenialCode::JwtMalformed);
  EXPECT_DENIED(
      auth.authenticate(
          "Bearer " + token_for("ES256", claims_with({{"role", json::array({"a", 1})}})), now_tp),
      DenialCode::JwtMalformed);
}

TEST_F(JwtVerifier, UserClaimMustBeANonEmptyString) {
  const Outcome missing = check(token_for("ES256", claims_with({{"sub", nullptr}})));
  EXPECT_DENIED(missing, DenialCode::JwtMalformed);
  EXPECT_NE(denial_of(missing).detail.find("the user claim \"sub\" is missing"), std::string::npos);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"sub", ""}}))), DenialCode::JwtMalformed);
  EXPECT_DENIED(check(token_for("ES256", claims_with({{"sub", 12345}}))), DenialCode::JwtMalformed);
}

// --- the response ------------------------------------------------------------------------------

TEST_F(JwtVerifier, WwwAuthenticateOnEveryRejection) {
  const Outcome outcome = check(token_for("ES256", claims_with({{"exp", kNow - 3600}})));
  const auto& headers = denial_of(outcome).headers;
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(headers[0].second,
            "Bearer realm=\"portcullis\", error=\"invalid_token\", "
            "error_description=\"The bearer token has expired\"");
  for (const std::string& token :
       {std::string("x"), token_for("ES256", claims_with({{"aud", "x"}})),
        token_for("HS256", claims_with({{"iss", "x"}}))}) {
    const Outcome rejected = check(token);
    const auto& h = denial_of(rejected).headers;
    ASSERT_EQ(h.size(), 1u);
    EXPECT_TRUE(
        h[0].second.starts_with("Bearer realm=\"portcullis\", error=\"invalid_token\", "
                                "error_description=\""))
        << h[0].second;
  }
}

TEST_F(JwtVerifier, ChallengeEscapesTheRealm) {
  EXPECT_EQ(auth_.challenge(), "Bearer realm=\"portcullis\"");
  JwtSettings settings = default_settings();
  settings.realm = "the \"inner\" \\ realm";
  const JwtAuthenticator auth(settings, key_set(jwks_json()));
  EXPECT_EQ(auth.challenge(), "Bearer realm=\"the \\\"inner\\\" \\\\ realm\"");
  const Outcome rejected = auth.authenticate("Bearer x", now_tp);
  const auto& header = denial_of(rejected).headers.at(0).second;
  EXPECT_TRUE(header.starts_with("Bearer realm=\"the \\\"inner\\\" \\\\ realm\", error="))
      << header;
}

TEST_F(JwtVerifier, DetailsNeverContainTheToken) {
  const std::string hs = token_for("HS256");
  std::vector<std::string> tokens = {
      token_for("ES256", claims_with({{"exp", kNow - 3600}})),
      token_for("ES256", claims_with({{"nbf", kNow + 3600}})),
      token_for("ES256", claims_with({{"iss", "https://idp.example.com"}})),
      token_for("ES256", claims_with({{"aud", "other"}})),
      token_for("ES256", claims_with({{"sub", nullptr}})),
      jwt_testing::sign_token(json{{"alg", "RS256"}, {"kid", "nope"}}, default_claims(), "RS256",
                              keys().rsa),
      hs.substr(0, hs.size() - 4) + "AAAA",           // bad signature
      hs.substr(0, hs.rfind('.')),                    // two parts
      hs.substr(0, hs.find('.')) + ".***." + "c2ln",  // bad base64
  };
  for (const auto& token : tokens) {
    const Outcome outcome = check(token);
    ASSERT_TRUE(std::holds_alternative<Rejected>(outcome));
    const auto& denial = denial_of(outcome);
    const auto payload = token.substr(token.find('.') + 1, 20);
    for (const auto& text : {denial.detail, denial.headers.at(0).second}) {
      EXPECT_EQ(text.find(token), std::string::npos) << text;
      EXPECT_EQ(text.find(payload), std::string::npos) << text;
      if (token.rfind('.') + 10 < token.size()) {
        EXPECT_EQ(text.find(token.substr(token.rfind('.') + 1, 10)), std::string::npos) << text;
      }
    }
  }
}

TEST_F(JwtVerifier, DetailsNameTheAuthenticatorAndHeaderFields) {
  const Outcome outcome = check(token_for("ES256", claims_with({{"exp", kNow - 3600}})));
  EXPECT_TRUE(denial_of(outcome).detail.starts_with("jwt \"tokens\": "))
      << denial_of(outcome).detail;
  const Outcome alg = check(jwt_testing::sign_token(json{{"alg", "RS256"}, {"kid", "ec-256"}},
                                                    default_claims(), "RS256", keys().rsa));
  EXPECT_NE(denial_of(alg).detail.find("alg \"RS256\", kid \"ec-256\""), std::string::npos)
      << denial_of(alg).detail;
}

TEST_F(JwtVerifier, TokenSuppliedTextIsSanitisedInDetails) {
  const json header{{"alg", "RS256"},
                    {"kid", std::string("evil\"\n\x01kid") + std::string(200, 'k')}};
  const Outcome outcome =
      check(jwt_testing::sign_token(header, default_claims(), "RS256", keys().rsa));
  EXPECT_DENIED(outcome, DenialCode::JwtKidUnknown);
  const std::string& detail = denial_of(outcome).detail;
  EXPECT_NE(detail.find(R"(kid "evil\"\x0a\x01kid)"), std::string::npos) << detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos);
  EXPECT_EQ(detail.find(std::string(100, 'k')), std::string::npos);  // truncated
}

TEST_F(JwtVerifier, JwksUnavailable) {
  const Rejected rejected = auth_.jwks_unavailable("connect to idp.example.com:443: refused");
  EXPECT_EQ(rejected.denial.code, DenialCode::JwtJwksUnavailable);
  EXPECT_EQ(rejected.denial.effective_status(), 503);
  EXPECT_NE(rejected.denial.detail.find("refused"), std::string::npos);
  EXPECT_NE(rejected.denial.detail.find("test-jwks.json"), std::string::npos);
  ASSERT_EQ(rejected.denial.headers.size(), 1u);
  EXPECT_EQ(rejected.denial.headers[0], (core::HeaderPair{"Retry-After", "30"}));
}

TEST_F(JwtVerifier, EveryRejectionIs401) {
  for (const auto& token : {std::string("x"), token_for("ES256", claims_with({{"aud", "x"}}))}) {
    EXPECT_EQ(denial_of(check(token)).effective_status(), 401);
  }
}

// --- settings ----------------------------------------------------------------------------------

TEST(JwtSettingsCheck, AcceptsTheDefaults) {
  EXPECT_TRUE(JwtAuthenticator::check_settings(default_settings()));
}

TEST(JwtSettingsCheck, RefusesUnsafeOrIncompleteSettings) {
  const auto error = [](auto change) {
    JwtSettings s = default_settings();
    change(s);
    const auto result = JwtAuthenticator::check_settings(s);
    EXPECT_FALSE(result);
    return result ? std::string() : result.error().to_string();
  };
  EXPECT_NE(error([](JwtSettings& s) { s.issuer.clear(); }).find("issuer is required"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) { s.audiences.clear(); }).find("at least one audience"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) { s.algorithms.clear(); }).find("at least one algorithm"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) {
              s.algorithms = {"RS256", "none"};
            }).find("never allowed"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) {
              s.algorithms = {"rs256"};
            }).find("unsupported algorithm \"rs256\" (supported: HS256, "),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) { s.leeway = seconds(-1); }).find("leeway"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) { s.leeway = seconds(3600); }).find("leeway"),
            std::string::npos);
  EXPECT_NE(error([](JwtSettings& s) { s.user_claim.clear(); }).find("user_claim"),
            std::string::npos);
  EXPECT_TRUE(error([](JwtSettings& s) { s.issuer.clear(); }).starts_with("tokens: "));
}

TEST(JwtSettingsCheck, WarnsAboutAlgorithmsNoKeyCanVerify) {
  JwtSettings settings = default_settings();
  settings.algorithms = {"RS256", "ES384", "HS256"};
  const auto set =
      key_set(json{{"keys", json::array({jwt_testing::public_jwk(keys().rsa.key.get(), "r")})}});
  const auto warnings = JwtAuthenticator::compatibility_warnings(settings, *set);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("algorithm ES384 is allowed but no key of test-jwks.json"),
            std::string::npos);
  EXPECT_NE(warnings[1].find("HS256"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::authn

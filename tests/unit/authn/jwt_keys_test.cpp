// JWKS loading: every supported key type from in-test generated keys, and each specific refusal
// (bad JSON, no kty, unsupported kty/crv, short RSA and HMAC keys, off-curve points, duplicates).
#include "authn/jwt_keys.h"

#include <gtest/gtest.h>

#include <string>

#include "authn/jwt_crypto.h"
#include "jwt_test_signer.h"

namespace portcullis::authn {
namespace {

using jwt_testing::json;

json jwks(std::initializer_list<json> keys) {
  return json{{"keys", json::array_t(keys)}};
}

core::Result<std::shared_ptr<const KeySet>> load(const json& document) {
  return KeySet::from_jwks_json(document.dump(), "jwks.json");
}

std::string load_error(const json& document) {
  const auto set = load(document);
  EXPECT_FALSE(set);
  return set ? std::string() : set.error().to_string();
}

const jwt_testing::Pkey& rsa_key() {
  static const auto key = jwt_testing::generate_rsa();
  return key;
}

TEST(KeySet, LoadsEveryKeyType) {
  const auto p256 = jwt_testing::generate_ec("P-256");
  const auto p384 = jwt_testing::generate_ec("P-384");
  const auto p521 = jwt_testing::generate_ec("P-521");
  const auto ed = jwt_testing::generate_ed25519();
  const auto set = load(jwks(
      {jwt_testing::public_jwk(rsa_key().get(), "rsa"), jwt_testing::public_jwk(p256.get(), "p256"),
       jwt_testing::public_jwk(p384.get(), "p384"), jwt_testing::public_jwk(p521.get(), "p521"),
       jwt_testing::public_jwk(ed.get(), "ed"),
       jwt_testing::secret_jwk(std::string(32, 's'), "hmac")}));
  ASSERT_TRUE(set) << set.error().to_string();
  const auto& keys = (*set)->keys();
  ASSERT_EQ(keys.size(), 6u);
  EXPECT_EQ(keys[0].type, KeyType::Rsa);
  EXPECT_EQ(keys[0].bits, 2048);
  EXPECT_EQ(keys[1].curve, "P-256");
  EXPECT_EQ(keys[2].curve, "P-384");
  EXPECT_EQ(keys[3].curve, "P-521");
  EXPECT_EQ(keys[3].bits, 521);
  EXPECT_EQ(keys[4].type, KeyType::Okp);
  EXPECT_EQ(keys[4].curve, "Ed25519");
  EXPECT_EQ(keys[5].type, KeyType::Oct);
  EXPECT_EQ(keys[5].secret, std::string(32, 's'));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(keys[i].pkey) << i;
  EXPECT_TRUE((*set)->warnings().empty());
  EXPECT_EQ((*set)->source(), "jwks.json");
}

TEST(KeySet, FindsByKidAndListsKeysWithoutKid) {
  const auto p256 = jwt_testing::generate_ec("P-256");
  const auto set = load(
      jwks({jwt_testing::public_jwk(rsa_key().get(), "shared"),
            jwt_testing::public_jwk(p256.get(), "shared"), jwt_testing::public_jwk(p256.get(), ""),
            jwt_testing::secret_jwk(std::string(32, 'k'), "")}));
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_EQ((*set)->find("shared").size(), 2u);  // same kid, different kty: allowed
  EXPECT_TRUE((*set)->find("other").empty());
  EXPECT_TRUE((*set)->find("").empty());
  const auto anonymous = (*set)->keys_without_kid();
  ASSERT_EQ(anonymous.size(), 2u);
  EXPECT_EQ(anonymous[0]->type, KeyType::Ec);
  EXPECT_EQ(anonymous[1]->type, KeyType::Oct);
}

TEST(KeySet, AcceptsASingleJwk) {
  const auto set =
      KeySet::from_jwks_json(jwt_testing::public_jwk(rsa_key().get(), "one").dump(), "x");
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_EQ((*set)->keys().size(), 1u);
}

TEST(KeySet, AcceptsPaddedBase64Members) {
  json jwk = jwt_testing::public_jwk(rsa_key().get(), "padded");
  jwk["e"] = "AQAB";  // unpadded already; pad n the way some publishers do
  std::string n = jwk["n"];
  while (n.size() % 4 != 0) n += '=';
  jwk["n"] = n;
  EXPECT_TRUE(load(jwks({jwk})));
}

TEST(KeySet, RefusesDocumentsThatAreNotJwks) {
  EXPECT_NE(KeySet::from_jwks_json("{", "jwks.json").error().to_string().find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(load_error(json::array()).find("JSON object"), std::string::npos);
  EXPECT_NE(load_error(json{{"issuer", "x"}}).find("neither a JWKS"), std::string::npos);
  EXPECT_NE(load_error(json{{"keys", "x"}}).find("not an array"), std::string::npos);
  EXPECT_NE(load_error(json{{"keys", json::array()}}).find("no signature keys"), std::string::npos);
  EXPECT_NE(load_error(jwks({json("x")})).find("keys[0]: not a JSON object"), std::string::npos);
}

TEST(KeySet, ErrorsNameTheSourceAndTheKey) {
  const auto set = KeySet::from_jwks_json(R"({"keys":[{"kid":"a","n":"x"}]})", "idp.jwks");
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().where, "idp.jwks");
  EXPECT_EQ(set.error().message, "keys[0] (kid \"a\"): no \"kty\"");
}

TEST(KeySet, RefusesUnsupportedTypesAndCurves) {
  EXPECT_NE(load_error(jwks({json{{"kty", "DSA"}}})).find("unsupported \"kty\" \"DSA\""),
            std::string::npos);
  EXPECT_NE(load_error(jwks({json{{"kty", 1}}})).find("\"kty\" is not a string"),
            std::string::npos);
  json secp256k1 = jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "k");
  secp256k1["crv"] = "secp256k1";
  EXPECT_NE(load_error(jwks({secp256k1})).find("unsupported EC curve \"secp256k1\""),
            std::string::npos);
  json x25519 = jwt_testing::public_jwk(jwt_testing::generate_ed25519().get(), "x");
  x25519["crv"] = "X25519";
  EXPECT_NE(load_error(jwks({x25519})).find("unsupported OKP curve \"X25519\""), std::string::npos);
  json no_crv = jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "k");
  no_crv.erase("crv");
  EXPECT_NE(load_error(jwks({no_crv})).find("EC key without \"crv\""), std::string::npos);
}

TEST(KeySet, RefusesShortRsaKeys) {
  const auto small = jwt_testing::generate_rsa(1024);
  EXPECT_NE(load_error(jwks({jwt_testing::public_jwk(small.get(), "old")}))
                .find("RSA key of 1024 bits refused: at least 2048 are required"),
            std::string::npos);
}

TEST(KeySet, RefusesBadRsaMembers) {
  json jwk = jwt_testing::public_jwk(rsa_key().get(), "r");
  jwk.erase("e");
  EXPECT_NE(load_error(jwks({jwk})).find("missing \"e\""), std::string::npos);
  jwk["e"] = "AQA";  // 0x0100: even
  EXPECT_NE(load_error(jwks({jwk})).find("exponent"), std::string::npos);
  jwk["e"] = "AQAB";
  jwk["n"] = "not base64url!";
  EXPECT_NE(load_error(jwks({jwk})).find("\"n\" is not base64url"), std::string::npos);
  jwk["n"] = 12;
  EXPECT_NE(load_error(jwks({jwk})).find("\"n\" is not a string"), std::string::npos);
}

TEST(KeySet, RefusesEcPointsOffTheCurve) {
  json jwk = jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "bad");
  std::string y = *base64url_decode(jwk["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 1);
  jwk["y"] = base64url_encode(y);
  EXPECT_NE(load_error(jwks({jwk})).find("not on the curve"), std::string::npos);
}

TEST(KeySet, RefusesShortenedEcCoordinates) {
  json jwk = jwt_testing::public_jwk(jwt_testing::generate_ec("P-384").get(), "short");
  jwk["x"] = base64url_encode(std::string(47, '\x01'));
  EXPECT_NE(load_error(jwks({jwk})).find("P-384 coordinates must be 48 bytes each (x has 47"),
            std::string::npos);
}

TEST(KeySet, RefusesBadEd25519Keys) {
  json jwk = jwt_testing::public_jwk(jwt_testing::generate_ed25519().get(), "ed");
  jwk["x"] = base64url_encode(std::string(31, 'x'));
  EXPECT_NE(load_error(jwks({jwk})).find("Ed25519 \"x\" must be 32 bytes, not 31"),
            std::string::npos);
}

TEST(KeySet, RefusesShortHmacSecrets) {
  EXPECT_NE(load_error(jwks({jwt_testing::secret_jwk("short-secret", "h")}))
                .find("oct secret of 96 bits refused: at least 256 are required"),
            std::string::npos);
  EXPECT_NE(load_error(jwks({json{{"kty", "oct"}}})).find("missing \"k\""), std::string::npos);
}

TEST(KeySet, RefusesDuplicateKidOfOneType) {
  const auto other = jwt_testing::generate_rsa();
  EXPECT_NE(load_error(jwks({jwt_testing::public_jwk(rsa_key().get(), "dup"),
                             jwt_testing::public_jwk(other.get(), "dup")}))
                .find("keys[1] (kid \"dup\"): a second RSA key with the same kid"),
            std::string::npos);
}

TEST(KeySet, ChecksTheKeysOwnAlg) {
  json jwk = jwt_testing::public_jwk(rsa_key().get(), "r");
  jwk["alg"] = "ES256";
  EXPECT_NE(load_error(jwks({jwk})).find("ES256 needs an EC P-256 key"), std::string::npos);
  jwk["alg"] = "XS999";
  EXPECT_NE(load_error(jwks({jwk})).find("unsupported \"alg\" \"XS999\""), std::string::npos);
  jwk["alg"] = "PS256";
  const auto set = load(jwks({jwk}));
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)->keys()[0].alg, "PS256");
}

TEST(KeySet, SkipsEncryptionKeysWithAWarning) {
  json enc = jwt_testing::public_jwk(jwt_testing::generate_rsa().get(), "enc");
  enc["use"] = "enc";
  json oaep = jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "ecdh");
  oaep["alg"] = "ECDH-ES";
  json wrap = jwt_testing::public_jwk(rsa_key().get(), "ops");
  wrap["key_ops"] = json::array({"encrypt", "wrapKey"});
  const auto set = load(jwks({enc, oaep, wrap, jwt_testing::public_jwk(rsa_key().get(), "sig")}));
  ASSERT_TRUE(set) << set.error().to_string();
  ASSERT_EQ((*set)->keys().size(), 1u);
  EXPECT_EQ((*set)->keys()[0].kid, "sig");
  ASSERT_EQ((*set)->warnings().size(), 3u);
  EXPECT_NE((*set)->warnings()[0].find("keys[0] (kid \"enc\"): skipped"), std::string::npos);
  EXPECT_NE((*set)->warnings()[1].find("encryption algorithm"), std::string::npos);
  EXPECT_NE((*set)->warnings()[2].find("key_ops"), std::string::npos);
  EXPECT_NE(load_error(jwks({enc})).find("no signature keys"), std::string::npos);
}

TEST(KeySet, WarnsAboutPublishedPrivateKeys) {
  json jwk = jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "leaky");
  jwk["d"] = base64url_encode(std::string(32, '\x07'));
  const auto set = load(jwks({jwk}));
  ASSERT_TRUE(set);
  ASSERT_EQ((*set)->warnings().size(), 1u);
  EXPECT_NE((*set)->warnings()[0].find("private key members ignored"), std::string::npos);
}

TEST(KeySet, DescribesKeys) {
  const auto set =
      load(jwks({jwt_testing::public_jwk(rsa_key().get(), "r1"),
                 jwt_testing::public_jwk(jwt_testing::generate_ec("P-256").get(), "")}));
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)->keys()[0].describe(), "kid \"r1\" (RSA 2048)");
  EXPECT_EQ((*set)->keys()[1].describe(), "the key without kid (EC P-256)");
}

}  // namespace
}  // namespace portcullis::authn

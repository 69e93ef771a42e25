// The production JWS signer (demo, test-token tool, benchmarks): every algorithm round-trips
// through the verifier's own signature check and KeySet loader, ECDSA is JOSE-encoded unless
// asked otherwise, and misuse is an error value, never a token.
#include "authn/jwt_signer.h"

#include <gtest/gtest.h>

#include "authn/jwt_keys.h"
#include "authn/jwt_token.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;

SigningKey key_for(JwsAlg alg) {
  if (is_hmac(alg)) return SigningKey{nullptr, *random_secret(64)};
  auto key = generate_signing_key(alg);
  EXPECT_TRUE(key) << key.error().to_string();
  return SigningKey{*key, {}};
}

json jwk_for(JwsAlg alg, const SigningKey& key) {
  if (is_hmac(alg)) return secret_jwk(key.secret, "k", jws_alg_name(alg));
  return *public_jwk(key.key.get(), "k", jws_alg_name(alg));
}

TEST(JwtSigner, EveryAlgorithmVerifiesWithTheExportedJwk) {
  for (const JwsAlg alg : supported_jws_algs()) {
    SCOPED_TRACE(jws_alg_name(alg));
    const SigningKey key = key_for(alg);
    const json jwk = jwk_for(alg, key);
    auto set = KeySet::from_jwks_json(make_jwks({jwk}).dump(), "signer-test");
    ASSERT_TRUE(set) << set.error().to_string();
    ASSERT_EQ((*set)->keys().size(), 1u);
    const auto token =
        sign_jwt(jwt_header(jws_alg_name(alg), "k"), json{{"sub", "a"}}, jws_alg_name(alg), key);
    ASSERT_TRUE(token) << token.error().to_string();
    auto jws = parse_compact_jws(*token);
    ASSERT_TRUE(jws) << jws.error();
    EXPECT_EQ(jws->alg, jws_alg_name(alg));
    EXPECT_EQ(jws->kid, "k");
    EXPECT_TRUE(verify_jws_signature(alg, (*set)->keys()[0], jws->signing_input, jws->signature));
    // One flipped bit in the signed bytes is no longer valid.
    std::string altered(jws->signing_input);
    altered.back() ^= 1;
    EXPECT_FALSE(verify_jws_signature(alg, (*set)->keys()[0], altered, jws->signature));
  }
}

TEST(JwtSigner, EcdsaIsJoseUnlessDerIsAskedFor) {
  const SigningKey key{*generate_ec_key("P-384"), {}};
  auto jose = sign_jws_signature("ES384", key, "input");
  ASSERT_TRUE(jose);
  EXPECT_EQ(jose->size(), 96u);
  auto der = sign_jws_signature("ES384", key, "input", EcdsaEncoding::Der);
  ASSERT_TRUE(der);
  EXPECT_EQ(static_cast<unsigned char>((*der)[0]), 0x30);  // a DER SEQUENCE
}

TEST(JwtSigner, PublicJwkHasNoPrivateMembers) {
  for (const JwsAlg alg : {JwsAlg::RS256, JwsAlg::ES256, JwsAlg::EdDSA}) {
    const SigningKey key = key_for(alg);
    const json jwk = *public_jwk(key.key.get(), "");
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "kid", "alg"}) {
      EXPECT_FALSE(jwk.contains(member)) << jws_alg_name(alg) << " " << member;
    }
  }
  EXPECT_EQ((*public_jwk(generate_ec_key("P-521")->get(), "x"))["x"].get<std::string>().size(),
            88u);  // 66 bytes, full length
}

TEST(JwtSigner, MisuseIsAnError) {
  const SigningKey rsa{*generate_rsa_key(2048), {}};
  EXPECT_FALSE(sign_jws_signature("none", rsa, "x"));
  EXPECT_FALSE(sign_jws_signature("RS257", rsa, "x"));
  EXPECT_FALSE(sign_jws_signature("HS256", rsa, "x"));  // no secret
  EXPECT_FALSE(sign_jws_signature("ES256", SigningKey{nullptr, "secret"}, "x"));
  EXPECT_FALSE(generate_signing_key(JwsAlg::HS256));
  EXPECT_FALSE(generate_ec_key("secp256k1"));
  EXPECT_FALSE(public_jwk(nullptr, "k"));
  EXPECT_EQ(random_secret(48)->size(), 48u);
  EXPECT_NE(*random_secret(32), *random_secret(32));
}

TEST(JwtSigner, PublicKeyPem) {
  const auto key = *generate_ed25519_key();
  EXPECT_TRUE(public_key_pem(key.get()).starts_with("-----BEGIN PUBLIC KEY-----\n"));
}

}  // namespace
}  // namespace portcullis::authn

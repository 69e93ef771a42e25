// Independent vectors from ../shared/extsuites/jwt: RFC 7515 A.1 (HS256 JWT) through the whole
// authenticator, and every RFC 7520 (JOSE cookbook) / RFC 8037 / RFC 7797 JWS signature verified
// with its own JWK; each altered signature must fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_keys.h"
#include "authn/jwt_token.h"
#include "authn/jwt_verifier.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path suite_dir() {
  if (const char* dir = std::getenv("PORTCULLIS_JWT_VECTORS")) return dir;
  return fs::path(PORTCULLIS_SOURCE_DIR) / ".." / "shared" / "extsuites" / "jwt";
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::shared_ptr<const KeySet> load_key(const json& jwk) {
  auto set = KeySet::from_jwks_json(jwk.dump(), "vector");
  if (!set) ADD_FAILURE() << set.error().to_string();
  return set ? *set : nullptr;
}

class JwtVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(suite_dir() / "rfc7515-a1.json")) {
      GTEST_SKIP() << "JWT vectors not found at " << suite_dir() << " (set PORTCULLIS_JWT_VECTORS)";
    }
  }
};

// --- RFC 7515 A.1 -----------------------------------------------------------------------------

TEST_F(JwtVectors, Rfc7515A1Signature) {
  const json vector = read_json(suite_dir() / "rfc7515-a1.json");
  const auto keys = load_key(vector["jwk"]);
  ASSERT_TRUE(keys);
  const std::string token = vector["token"];
  const auto jws = parse_compact_jws(token);
  ASSERT_TRUE(jws) << jws.error();
  EXPECT_EQ(jws->alg, "HS256");
  EXPECT_FALSE(jws->kid);
  EXPECT_TRUE(
      verify_jws_signature(JwsAlg::HS256, keys->keys()[0], jws->signing_input, jws->signature));
  // The payload uses CRLF line breaks inside the JSON; it parses to the published claims.
  const auto claims = parse_json_object(jws->payload);
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(*claims, vector["claims"]);
  std::string altered = jws->signature;
  altered[0] = static_cast<char>(altered[0] ^ 1);
  EXPECT_FALSE(verify_jws_signature(JwsAlg::HS256, keys->keys()[0], jws->signing_input, altered));
  EXPECT_FALSE(
      verify_jws_signature(JwsAlg::HS384, keys->keys()[0], jws->signing_input, jws->signature));
}

TEST_F(JwtVectors, Rfc7515A1ThroughTheAuthenticator) {
  const json vector = read_json(suite_dir() / "rfc7515-a1.json");
  JwtSettings settings;
  settings.name = "rfc7515";
  settings.issuer = "joe";
  settings.audiences = {"api"};
  settings.algorithms = {"HS256"};
  settings.leeway = std::chrono::seconds(0);
  const JwtAuthenticator auth(settings, load_key(vector["jwk"]));
  const std::string header = "Bearer " + vector["token"].get<std::string>();
  const auto at = [](std::int64_t t) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(t));
  };
  // "at_now_1300819379": valid signature, not expired, issuer "joe"; the token has no aud, which
  // this gateway requires, so the first failing check is the audience: everything before passed.
  const Outcome valid_time = auth.authenticate(header, at(1300819379));
  ASSERT_TRUE(std::holds_alternative<Rejected>(valid_time));
  EXPECT_EQ(std::get<Rejected>(valid_time).denial.code, core::DenialCode::JwtAudienceMismatch)
      << std::get<Rejected>(valid_time).denial.detail;
  // "at_real_time": expired 2011-03-22T18:43:00Z.
  const Outcome real_time = auth.authenticate(header, std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<Rejected>(real_time));
  EXPECT_EQ(std::get<Rejected>(real_time).denial.code, core::DenialCode::JwtExpired);
  EXPECT_NE(std::get<Rejected>(real_time).denial.detail.find("2011-03-22T18:43:00Z"),
            std::string::npos)
      << std::get<Rejected>(real_time).denial.detail;
  // Any other issuer is refused.
  settings.issuer = "joe/";
  const JwtAuthenticator other(settings, load_key(vector["jwk"]));
  const Outcome mismatch = other.authenticate(header, at(1300819379));
  ASSERT_TRUE(std::holds_alternative<Rejected>(mismatch));
  EXPECT_EQ(std::get<Rejected>(mismatch).denial.code, core::DenialCode::JwtIssuerMismatch);
}

// --- RFC 7520 cookbook, RFC 8037 Ed25519, RFC 7797 ----------------------------------------------

struct SignatureCase {
  std::string name;
  std::string alg;
  json jwk;
  std::string signing_input;
  std::string signature_b64;
};

// Every signature of one cookbook file: compact output when it has one (detached content is put
// back), else each JSON-serialization signature with its published signing input.
std::vector<SignatureCase> cases_of(const fs::path& path) {
  const json document = read_json(path);
  std::vector<SignatureCase> out;
  const json& input = document["input"];
  const json& output = document["output"];
  const std::string name = path.parent_path().filename().string() + "/" + path.filename().string();
  if (output.contains("compact")) {
    std::string compact = output["compact"];
    const auto dot1 = compact.find('.');
    const auto dot2 = compact.rfind('.');
    std::string signing_input = compact.substr(0, dot2);
    if (dot2 == dot1 + 1) {  // detached content (RFC 7520 §4.5)
      signing_input =
          compact.substr(0, dot1) + "." + base64url_encode(input["payload"].get<std::string>());
    }
    const auto header = base64url_decode(compact.substr(0, dot1));
    out.push_back(
        {name, json::parse(*header)["alg"], input["key"], signing_input, compact.substr(dot2 + 1)});
    return out;
  }
  const json signings =
      document["signing"].is_array() ? document["signing"] : json::array({document["signing"]});
  const json keys = input["key"].is_array() ? input["key"] : json::array({input["key"]});
  for (std::size_t i = 0; i < signings.size(); ++i) {
    const json& s = signings[i];
    std::string alg;
    if (s.contains("protected") && s["protected"].contains("alg")) alg = s["protected"]["alg"];
    if (s.contains("unprotected") && s["unprotected"].contains("alg"))
      alg = s["unprotected"]["alg"];
    out.push_back({name + "#" + std::to_string(i), alg, keys[i], s["sig-input"], s["sig"]});
  }
  return out;
}

TEST_F(JwtVectors, CookbookSignaturesVerify) {
  const fs::path cookbook = suite_dir() / "rfc7520-cookbook";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(cookbook / "jws")) files.push_back(entry.path());
  files.push_back(cookbook / "curve25519" / "jws.json");
  // RFC 7797 §4.2 (b64=false, JSON only). The sibling "compatible with compact" file is covered
  // by its compact output (its "signing" block pairs another example's signature with its input).
  files.push_back(cookbook / "rfc7797" / "4.2.hmac-sha2_b64_false.json");
  files.push_back(cookbook / "rfc7797" / "hmac-sha2_b64_false.json");
  std::sort(files.begin(), files.end());

  std::set<std::string> algs_seen;
  std::size_t verified = 0;
  for (const auto& file : files) {
    for (const auto& c : cases_of(file)) {
      SCOPED_TRACE(c.name + " " + c.alg);
      const auto alg = parse_jws_alg(c.alg);
      ASSERT_TRUE(alg);
      const auto keys = load_key(c.jwk);
      ASSERT_TRUE(keys);
      ASSERT_EQ(keys->keys().size(), 1u);
      const Jwk& key = keys->keys()[0];
      const auto signature = base64url_decode(c.signature_b64);
      ASSERT_TRUE(signature);
      EXPECT_TRUE(verify_jws_signature(*alg, key, c.signing_input, *signature));
      std::string altered = *signature;
      altered[altered.size() / 2] = static_cast<char>(altered[altered.size() / 2] ^ 0x01);
      EXPECT_FALSE(verify_jws_signature(*alg, key, c.signing_input, altered));
      EXPECT_FALSE(verify_jws_signature(*alg, key, c.signing_input + " ", *signature));
      algs_seen.insert(c.alg);
      ++verified;
    }
  }
  EXPECT_EQ(verified, 13u);  // 4.1-4.7 (7), 4.8 (3), Ed25519 (1), RFC 7797 (2)
  EXPECT_EQ(algs_seen, (std::set<std::string>{"RS256", "PS384", "ES512", "HS256", "EdDSA"}));
}

TEST_F(JwtVectors, CookbookPrivateJwksLoadAsPublicKeysWithAWarning) {
  for (const char* file : {"3_2.ec_private_key.json", "3_4.rsa_private_key.json"}) {
    const json jwk = read_json(suite_dir() / "rfc7520-cookbook" / "jwk" / file);
    const auto set = KeySet::from_jwks_json(jwk.dump(), file);
    ASSERT_TRUE(set) << set.error().to_string();
    ASSERT_EQ((*set)->warnings().size(), 1u) << file;
    EXPECT_NE((*set)->warnings()[0].find("private key members ignored"), std::string::npos);
  }
  const json ec = read_json(suite_dir() / "rfc7520-cookbook" / "jwk" / "3_1.ec_public_key.json");
  const auto set = KeySet::from_jwks_json(ec.dump(), "3_1");
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)->keys()[0].curve, "P-521");
  EXPECT_EQ((*set)->keys()[0].kid, "bilbo.baggins@hobbiton.example");
}

TEST_F(JwtVectors, CookbookPublicJwksVerifyTheCompactExamples) {
  const fs::path cookbook = suite_dir() / "rfc7520-cookbook";
  const auto rsa = load_key(read_json(cookbook / "jwk" / "3_3.rsa_public_key.json"));
  const auto ec = load_key(read_json(cookbook / "jwk" / "3_1.ec_public_key.json"));
  ASSERT_TRUE(rsa && ec);
  const std::pair<const char*, const Jwk*> examples[] = {
      {"4_1.rsa_v15_signature.json", &rsa->keys()[0]},
      {"4_2.rsa-pss_signature.json", &rsa->keys()[0]},
      {"4_3.ecdsa_signature.json", &ec->keys()[0]},
  };
  for (const auto& [file, key] : examples) {
    const json document = read_json(cookbook / "jws" / file);
    const std::string compact = document["output"]["compact"];  // the views point into it
    const auto jws = parse_compact_jws(compact);
    ASSERT_TRUE(jws) << file << ": " << jws.error();
    EXPECT_EQ(jws->kid, "bilbo.baggins@hobbiton.example");
    EXPECT_EQ(jws->payload, document["input"]["payload"]);
    EXPECT_TRUE(
        verify_jws_signature(*parse_jws_alg(jws->alg), *key, jws->signing_input, jws->signature))
        << file;
  }
}

TEST_F(JwtVectors, CookbookKeysRefuseTheWrongAlgorithm) {
  const fs::path cookbook = suite_dir() / "rfc7520-cookbook";
  const json hmac = read_json(cookbook / "jws" / "4_4.hmac-sha2_integrity_protection.json");
  const auto keys = load_key(hmac["input"]["key"]);
  ASSERT_TRUE(keys);
  const std::string compact = hmac["output"]["compact"];
  const auto jws = parse_compact_jws(compact);
  ASSERT_TRUE(jws);
  // The key says alg HS256 and is 256 bits: HS384/HS512 are refused before any MAC.
  EXPECT_TRUE(key_mismatch(JwsAlg::HS384, keys->keys()[0]));
  EXPECT_FALSE(
      verify_jws_signature(JwsAlg::HS512, keys->keys()[0], jws->signing_input, jws->signature));
  // The RSA cookbook key can never verify an HMAC signature (alg confusion).
  const auto rsa = load_key(read_json(cookbook / "jwk" / "3_3.rsa_public_key.json"));
  ASSERT_TRUE(rsa);
  EXPECT_FALSE(
      verify_jws_signature(JwsAlg::HS256, rsa->keys()[0], jws->signing_input, jws->signature));
}

TEST_F(JwtVectors, Rfc7797UnencodedPayloadIsRefusedAsAToken) {
  const json document =
      read_json(suite_dir() / "rfc7520-cookbook" / "rfc7797" / "hmac-sha2_b64_false.json");
  const std::string compact = document["output"]["compact"];
  const auto jws = parse_compact_jws(compact);
  ASSERT_FALSE(jws);
  EXPECT_NE(jws.error().find("crit"), std::string::npos) << jws.error();
}

}  // namespace
}  // namespace portcullis::authn

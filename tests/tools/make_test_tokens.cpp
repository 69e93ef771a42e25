// portcullis_test_tokens DIR: writes the keys, JWKS files and bearer tokens of the JWT
// integration tests (tests/integration/test_authn_jwt.py, test_authz.py) into DIR, and
// DIR/manifest.json naming every token, the code it must produce and why.
//
// The authenticator the tokens are meant for (manifest "authenticator"):
//   issuer https://idp.portcullis.test/, audiences [portcullis-api], leeway 120s,
//   algorithms [RS256, PS256, ES256, ES384, EdDSA, HS256], required_claims [email],
//   groups_claim groups, jwks.file jwks.json (jwks-rotated.json replaces it in the rotation test).
// Times are relative to when the tool runs (manifest "generated_at"): a token "within the
// leeway" stays accepted for at least 90 s after that, so tests run the tool at their start.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "authn/jwt_signer.h"
#include "authn/jwt_token.h"
#include "pki/cert_builder.h"

namespace {

using namespace portcullis;
using authn::SigningKey;
using nlohmann::json;

constexpr const char* kIssuer = "https://idp.portcullis.test/";
constexpr const char* kAudience = "portcullis-api";
constexpr long long kLeeway = 120;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "portcullis_test_tokens: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(core::Result<T> r, std::string_view what) {
  if (!r) die(fmt::format("{}: {}", what, r.error().to_string()));
  return std::move(*r);
}

class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}

  std::string path(std::string_view name) const { return dir_ + "/" + std::string(name); }

  void text(std::string_view name, std::string_view content) {
    std::ofstream out(path(name), std::ios::trunc | std::ios::binary);
    out << content;
    if (!out) die(fmt::format("writing {}", name));
  }

  void key(std::string_view name, EVP_PKEY* key) {
    auto ok = pki::write_private_key(path(name), key);
    if (!ok) die(fmt::format("writing {}: {}", name, ok.error().to_string()));
  }

  /// One token case: the token, its file, the code the gateway must answer with ("ok" for a
  /// 200), the user it authenticates as (ok cases) and what it demonstrates.
  void token(const std::string& name, const std::string& token, std::string_view code,
             std::string_view why, std::string_view user = {}) {
    text(name + ".jwt", token);
    json entry{{"file", name + ".jwt"}, {"token", token}, {"code", code}, {"why", why}};
    if (!user.empty()) entry["user"] = user;
    tokens_[name] = std::move(entry);
  }

  void finish(json manifest) {
    manifest["tokens"] = tokens_;
    text("manifest.json", manifest.dump(2) + "\n");
  }

 private:
  std::string dir_;
  json tokens_ = json::object();
};

struct Key {
  std::string kid;
  std::string alg;
  SigningKey signer;
};

Key pair(std::string kid, std::string alg) {
  const auto parsed = authn::parse_jws_alg(alg);
  if (!parsed) die("unsupported alg " + alg);
  auto key = must(authn::generate_signing_key(*parsed), "generating a " + alg + " key");
  return Key{std::move(kid), std::move(alg), SigningKey{std::move(key), {}}};
}

json jwk(const Key& k) {
  if (!k.signer.secret.empty()) return authn::secret_jwk(k.signer.secret, k.kid);
  json out = must(authn::public_jwk(k.signer.key.get(), k.kid), "exporting " + k.kid);
  out["use"] = "sig";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: portcullis_test_tokens DIR\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(argv[1], ec);
  if (ec) die(fmt::format("cannot create {}: {}", argv[1], ec.message()));
  Writer w(argv[1]);

  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();

  // ---- keys ----------------------------------------------------------------------------------
  const Key rsa = pair("rsa-1", "RS256");  // also verifies PS256
  const Key ec256 = pair("ec-256", "ES256");
  const Key ec384 = pair("ec-384", "ES384");
  const Key ed = pair("ed-1", "EdDSA");
  const Key hmac{"hmac-1", "HS256",
                 SigningKey{nullptr, must(authn::random_secret(32), "an HMAC secret")}};
  const Key rsa_next = pair("rsa-2", "RS256");     // rotated in by jwks-rotated.json
  const Key stranger = pair("stranger", "RS256");  // in no JWKS at all
  w.key("rs256.key", rsa.signer.key.get());
  w.key("es256.key", ec256.signer.key.get());
  w.key("es384.key", ec384.signer.key.get());
  w.key("eddsa.key", ed.signer.key.get());
  w.key("rs256-rotated.key", rsa_next.signer.key.get());
  w.text("hs256.secret", authn::base64url_encode(hmac.signer.secret) + "\n");
  w.text("jwks.json",
         authn::make_jwks({jwk(rsa), jwk(ec256), jwk(ec384), jwk(ed), jwk(hmac)}).dump(2));
  // The rotation: rsa-1 is retired, rsa-2 takes its place, the other keys stay.
  w.text("jwks-rotated.json",
         authn::make_jwks({jwk(rsa_next), jwk(ec256), jwk(ec384), jwk(ed), jwk(hmac)}).dump(2));

  // ---- tokens --------------------------------------------------------------------------------
  const auto claims = [&](std::string_view user = "alice") {
    json c{{"iss", kIssuer},
           {"aud", kAudience},
           {"sub", user},
           {"iat", now - 10},
           {"nbf", now - 10},
           {"exp", now + 3600},
           {"email", std::string(user) + "@portcullis.test"},
           {"groups", json::array({"dev", "ops"})},
           {"tenant", "blue"}};
    return c;
  };
  const auto sign = [&](const Key& k, const json& c, std::string_view alg = {}) {
    const std::string a = alg.empty() ? k.alg : std::string(alg);
    return must(authn::sign_jwt(authn::jwt_header(a, k.kid), c, a, k.signer), "signing");
  };

  w.token("valid-rs256", sign(rsa, claims()), "ok", "RS256 with kid rsa-1", "alice");
  w.token("valid-ps256", sign(rsa, claims(), "PS256"), "ok", "PS256 with the RSA key", "alice");
  w.token("valid-es256", sign(ec256, claims()), "ok", "ES256 (P-256)", "alice");
  w.token("valid-es384", sign(ec384, claims()), "ok", "ES384 (P-384)", "alice");
  w.token("valid-eddsa", sign(ed, claims()), "ok", "EdDSA (Ed25519)", "alice");
  w.token("valid-hs256", sign(hmac, claims()), "ok", "HS256 with the oct key", "alice");
  {
    json c = claims("bob");
    c["groups"] = json::array({"dev"});
    c["tenant"] = "red";
    w.token("valid-bob", sign(ec256, c), "ok", "bob: groups [dev], tenant red", "bob");
  }
  {
    json c = claims("carol");
    c["groups"] = "admins";  // a single string is one group
    w.token("valid-carol-string-group", sign(ec256, c), "ok", "groups as one string", "carol");
  }
  w.token("rotated-rs256", sign(rsa_next, claims()), "jwt.kid_unknown",
          "kid rsa-2: only in jwks-rotated.json (ok once the JWKS is replaced)", "alice");

  // Algorithms.
  {
    const std::string unsigned_token =
        authn::base64url_encode(json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." +
        authn::base64url_encode(claims().dump()) + ".";
    w.token("alg-none", unsigned_token, "jwt.alg_not_allowed", "alg none, empty signature");
  }
  w.token("alg-not-listed", sign(rsa, claims(), "RS384"), "jwt.alg_not_allowed",
          "RS384 is not in the allowed algorithms");
  {
    // The HS/RS confusion: an HMAC token "signed" with the RSA public key's PEM as the secret,
    // naming the RSA key.
    const SigningKey forged{nullptr, authn::public_key_pem(rsa.signer.key.get())};
    w.token("hs-rs-confusion",
            must(authn::sign_jwt(authn::jwt_header("HS256", "rsa-1"), claims(), "HS256", forged),
                 "signing"),
            "jwt.alg_not_allowed", "HS256 naming the RSA key, MAC keyed with its public PEM");
  }
  w.token("kid-unknown", sign(Key{"nope", "RS256", stranger.signer}, claims()), "jwt.kid_unknown",
          "kid nope is in no JWKS");

  // Time.
  {
    json c = claims();
    c["iat"] = now - 7200;
    c["nbf"] = now - 7200;
    c["exp"] = now - 3600;
    w.token("expired", sign(ec256, c), "jwt.expired", "exp an hour ago");
  }
  {
    json c = claims();
    c["exp"] = now - 30;
    w.token("expired-within-leeway", sign(ec256, c), "ok", "exp 30 s ago, leeway 120 s", "alice");
  }
  {
    json c = claims();
    c["iat"] = now + 3600;
    c["nbf"] = now + 3600;
    c["exp"] = now + 7200;
    w.token("not-yet-valid", sign(ec256, c), "jwt.not_yet_valid",
            "nbf and iat an hour in the future (issuer clock ahead)");
  }
  {
    json c = claims();
    c["iat"] = now + 30;
    c["nbf"] = now + 30;
    w.token("future-within-leeway", sign(ec256, c), "ok", "nbf/iat 30 s ahead, leeway 120 s",
            "alice");
  }

  // Claims.
  {
    json c = claims();
    c["iss"] = "https://idp.portcullis.test";
    w.token("issuer-no-trailing-slash", sign(ec256, c), "jwt.issuer_mismatch",
            "iss without the trailing slash");
  }
  {
    json c = claims();
    c["aud"] = "other-api";
    w.token("audience-wrong", sign(ec256, c), "jwt.audience_mismatch", "aud other-api");
  }
  {
    json c = claims();
    c["aud"] = json::array({"other-api", kAudience});
    w.token("audience-array", sign(ec256, c), "ok", "aud array containing portcullis-api", "alice");
  }
  {
    json c = claims();
    c.erase("email");
    w.token("missing-required-claim", sign(ec256, c), "jwt.malformed", "no email claim");
  }
  {
    json c = claims();
    c.erase("exp");
    w.token("missing-exp", sign(ec256, c), "jwt.malformed", "no exp claim");
  }

  // Integrity and syntax.
  {
    // The payload of a valid token swapped for another user's, the signature kept.
    const std::string good = sign(rsa, claims());
    const auto first = good.find('.');
    const auto second = good.find('.', first + 1);
    const std::string tampered = good.substr(0, first + 1) +
                                 authn::base64url_encode(claims("mallory").dump()) +
                                 good.substr(second);
    w.token("tampered-signature", tampered, "jwt.signature_invalid",
            "payload replaced, signature of the original");
  }
  w.token("wrong-key-same-kid", sign(Key{"rsa-1", "RS256", stranger.signer}, claims()),
          "jwt.signature_invalid", "kid rsa-1 but signed by another key");
  w.token("ecdsa-der-signature",
          must(authn::sign_compact_jws(authn::jwt_header("ES256", "ec-256"), claims().dump(),
                                       "ES256", ec256.signer, authn::EcdsaEncoding::Der),
               "signing"),
          "jwt.signature_invalid", "ECDSA signature in DER instead of JOSE R||S");
  w.token("malformed-two-parts", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0", "jwt.malformed",
          "two parts");
  w.token("malformed-not-base64", "not*base64.at*all.sig", "jwt.malformed", "not base64url");

  json manifest;
  manifest["generated_at"] = now;
  manifest["authenticator"] = {
      {"type", "jwt"},
      {"issuer", kIssuer},
      {"audiences", json::array({kAudience})},
      {"algorithms", json::array({"RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"})},
      {"leeway", fmt::format("{}s", kLeeway)},
      {"required_claims", json::array({"email"})},
      {"groups_claim", "groups"},
  };
  manifest["files"] = {{"jwks", "jwks.json"},
                       {"jwks_rotated", "jwks-rotated.json"},
                       {"keys",
                        {{"rsa-1", "rs256.key"},
                         {"ec-256", "es256.key"},
                         {"ec-384", "es384.key"},
                         {"ed-1", "eddsa.key"},
                         {"rsa-2", "rs256-rotated.key"},
                         {"hmac-1", "hs256.secret"}}}};
  w.finish(std::move(manifest));
  return 0;
}

// JWT verification cost per algorithm (Google Benchmark): JwtAuthenticator::authenticate on a
// valid bearer token (parse, key choice, signature, claims, identity), and the signature check
// alone (verify_jws_signature), so the difference is what the JOSE/JSON layer costs.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_keys.h"
#include "authn/jwt_signer.h"
#include "authn/jwt_token.h"
#include "authn/jwt_verifier.h"

namespace {

using namespace portcullis::authn;
using nlohmann::json;

template <typename T>
T must(portcullis::core::Result<T> r) {
  if (!r) throw std::runtime_error(r.error().to_string());
  return std::move(*r);
}

/// One algorithm's key set, authenticator and valid token.
struct Case {
  std::shared_ptr<const KeySet> keys;
  std::unique_ptr<JwtAuthenticator> authenticator;
  std::string token;
  std::string header;  ///< "Bearer <token>"
};

Case make_case(JwsAlg alg) {
  Case c;
  const std::string name(jws_alg_name(alg));
  SigningKey signer;
  json jwk;
  if (is_hmac(alg)) {
    signer.secret = must(random_secret(64));
    jwk = secret_jwk(signer.secret, "k");
  } else {
    signer.key = must(generate_signing_key(alg));
    jwk = must(public_jwk(signer.key.get(), "k"));
  }
  c.keys = must(KeySet::from_jwks_json(make_jwks({jwk}).dump(), "bench"));
  JwtSettings settings;
  settings.name = "bench";
  settings.issuer = "https://idp.example.com/";
  settings.audiences = {"api"};
  settings.algorithms = {name};
  settings.groups_claim = "groups";
  c.authenticator = std::make_unique<JwtAuthenticator>(settings, c.keys);
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  // A typical access token: a dozen claims, two groups.
  const json claims{{"iss", settings.issuer},
                    {"aud", json::array({"api", "web"})},
                    {"sub", "alice"},
                    {"email", "alice@example.com"},
                    {"groups", json::array({"dev", "ops"})},
                    {"scope", "read write"},
                    {"jti", "6c3b0f1e-8f1a-4a7b-9d3e-2f5c1a9b7e42"},
                    {"client_id", "portal"},
                    {"iat", now},
                    {"nbf", now},
                    {"exp", now + 3600}};
  c.token = must(sign_jwt(jwt_header(name, "k"), claims, name, signer));
  c.header = "Bearer " + c.token;
  return c;
}

void authenticate(benchmark::State& state, JwsAlg alg) {
  const Case c = make_case(alg);
  const auto now = std::chrono::system_clock::now();
  if (!std::holds_alternative<Authenticated>(c.authenticator->authenticate(c.header, now))) {
    state.SkipWithError("the benchmark token is not accepted");
    return;
  }
  for (auto _ : state) {
    auto outcome = c.authenticator->authenticate(c.header, now);
    benchmark::DoNotOptimize(outcome);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(c.keys->keys()[0].describe());
}

void signature_only(benchmark::State& state, JwsAlg alg) {
  const Case c = make_case(alg);
  auto jws = parse_compact_jws(c.token);
  if (!jws) {
    state.SkipWithError("the benchmark token does not parse");
    return;
  }
  const Jwk& key = c.keys->keys()[0];
  for (auto _ : state) {
    bool ok = verify_jws_signature(alg, key, jws->signing_input, jws->signature);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

void parse_only(benchmark::State& state) {
  const Case c = make_case(JwsAlg::ES256);
  for (auto _ : state) {
    auto jws = parse_compact_jws(c.token);
    benchmark::DoNotOptimize(jws);
  }
  state.SetItemsProcessed(state.iterations());
}

// Registered at start-up, one benchmark per algorithm.
[[maybe_unused]] const bool kRegistered = [] {
  for (const JwsAlg alg : supported_jws_algs()) {
    const std::string name(jws_alg_name(alg));
    benchmark::RegisterBenchmark(("BM_JwtAuthenticate/" + name).c_str(), authenticate, alg);
    benchmark::RegisterBenchmark(("BM_JwsSignature/" + name).c_str(), signature_only, alg);
  }
  benchmark::RegisterBenchmark("BM_ParseCompactJws/ES256", parse_only);
  return true;
}();

}  // namespace

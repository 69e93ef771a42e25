// Assertion claims and signing; the signer built from a configuration (key file or generated,
// rotating ring).
#include "authn/assertion_signer.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "authn/jwt_token.h"
#include "pki/cert_files.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;

/// Added to the longest ttl: a worker that loaded the ring just before a rotation may still sign
/// with the retired key for a moment.
constexpr std::chrono::seconds kRetireGrace{1};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string hex_to_base64url(std::string_view hex) {
  if (hex.size() % 2 != 0) return {};
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return base64url_encode(bytes);
}

json assertion_claims(std::string_view issuer, const AssertionRequest& request, TimePoint now) {
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const core::Identity* identity = request.identity;
  const bool anonymous = identity == nullptr || !identity->authenticated();
  json claims = json::object();
  claims["iss"] = issuer;
  claims["aud"] = request.audience;
  if (!anonymous && !identity->user.empty()) claims["sub"] = identity->user;
  claims["iat"] = iat;
  claims["nbf"] = iat;
  claims["exp"] = iat + request.ttl.count();
  claims["jti"] = request.request_id;
  claims["auth_method"] = anonymous ? std::string("none") : identity->method;
  claims["groups"] = anonymous ? std::vector<std::string>{} : identity->groups;
  if (!request.client_cert_sha256_hex.empty()) {
    // RFC 8705 §3.1: the certificate the request came with, bound to the assertion.
    claims["cnf"] = json{{"x5t#S256", hex_to_base64url(request.client_cert_sha256_hex)}};
  }
  claims["route"] = request.route;
  claims["request_id"] = request.request_id;
  return claims;
}

AssertionSigner::AssertionSigner(std::unique_ptr<AssertionKeyRing> ring, std::string issuer,
                                 std::vector<std::string> audiences)
    : ring_(std::move(ring)), issuer_(std::move(issuer)), audiences_(std::move(audiences)) {}

core::Result<std::shared_ptr<const AssertionSigner>> AssertionSigner::create(
    const config::Config& config, TimePoint now) {
  std::vector<std::string> audiences;
  std::chrono::seconds max_ttl{0};
  for (const auto& listener : config.listeners) {
    for (const auto& route : listener.routes) {
      if (!route.assertion) continue;
      max_ttl = std::max(max_ttl, route.assertion->ttl);
      if (std::find(audiences.begin(), audiences.end(), route.assertion->audience) ==
          audiences.end()) {
        audiences.push_back(route.assertion->audience);
      }
    }
  }
  const auto& signing = config.assertion_signing;
  if (audiences.empty() && signing.origin.path.empty()) return nullptr;
  std::unique_ptr<AssertionKeyRing> ring;
  if (signing.key) {
    const auto& origin = signing.key->origin;
    auto pkey = pki::load_private_key(signing.key->path);
    if (!pkey) return core::fail(pkey.error().message, origin.path, origin.line);
    auto made = AssertionKeyRing::fixed(std::shared_ptr<EVP_PKEY>(pkey->release(), EVP_PKEY_free),
                                        "\"" + signing.key->path + "\"", now);
    if (!made) return core::fail(made.error().message, origin.path, origin.line);
    ring = std::move(*made);
  } else {
    auto made = AssertionKeyRing::generated(signing.rotate, max_ttl + kRetireGrace, now);
    if (!made) return core::fail(made.error().message, "assertion_signing");
    ring = std::move(*made);
  }
  return std::make_shared<const AssertionSigner>(std::move(ring), signing.issuer,
                                                 std::move(audiences));
}

core::Result<std::string> AssertionSigner::sign(const AssertionRequest& request,
                                                TimePoint now) const {
  try {
    const auto keys = ring_->snapshot(now);
    const auto& key = *keys->current;
    return sign_jwt(jwt_header("ES256", key.kid), assertion_claims(issuer_, request, now), "ES256",
                    key.key);
  } catch (const std::exception& e) {
    // SECURITY: no assertion rather than a broken one; the caller refuses to forward.
    return core::fail(fmt::format("the assertion could not be signed: {}", e.what()));
  }
}

}  // namespace portcullis::authn

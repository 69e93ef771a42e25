// The signed identity assertion (issue #6 part 3): the ES256 JWT the gateway sends the upstream on
// routes with `assertion`, stating who the request is (sub, auth_method, groups, the client
// certificate's RFC 8705 `cnf`), for which backend (aud), route and request id, for `ttl`.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "authn/assertion_key_ring.h"
#include "config/config.h"
#include "core/identity.h"
#include "core/result.h"

namespace portcullis::authn {

/// What one request contributes to its assertion.
struct AssertionRequest {
  std::string_view route;       ///< the route's name
  std::string_view request_id;  ///< X-Request-Id; also the `jti`
  std::string_view audience;    ///< the route's assertion.audience
  std::chrono::seconds ttl{60};
  const core::Identity* identity = nullptr;  ///< nullptr or method "" = anonymous
  /// Lower-case hex SHA-256 of the verified client certificate's DER; "" when there is none.
  std::string_view client_cert_sha256_hex;
};

/// The claims set: iss, aud, sub (absent when anonymous), iat, nbf, exp (iat + ttl), jti,
/// auth_method (mtls|basic|jwt|external|none), groups, cnf {"x5t#S256"} (with a client
/// certificate), route, request_id. Times are whole seconds.
nlohmann::json assertion_claims(std::string_view issuer, const AssertionRequest& request,
                                TimePoint now);

/// base64url of the bytes that `hex` spells (the RFC 8705 x5t#S256 form of a hex fingerprint);
/// "" when `hex` is not an even-length hex string.
std::string hex_to_base64url(std::string_view hex);

/// Signs assertions with a key ring and knows what verifying them needs (issuer, audiences).
/// Thread-safe: every worker signs concurrently.
class AssertionSigner {
 public:
  AssertionSigner(std::unique_ptr<AssertionKeyRing> ring, std::string issuer,
                  std::vector<std::string> audiences);

  /// The signer of a configuration: nullptr when no route has `assertion` and there is no
  /// `assertion_signing` block. The key file must hold an unencrypted EC P-256 private key; a
  /// generated ring rotates every `rotate` and publishes a retired key for the longest route ttl
  /// plus a grace second. Errors name assertion_signing.key and its line.
  static core::Result<std::shared_ptr<const AssertionSigner>> create(const config::Config& config,
                                                                     TimePoint now);

  /// A compact ES256 JWT (header alg, typ JWT, kid) of assertion_claims. Data plane: never throws;
  /// an error value only when OpenSSL fails.
  core::Result<std::string> sign(const AssertionRequest& request, TimePoint now) const;

  /// The ring's keys as of `now` (rotating first when due).
  std::shared_ptr<const RingSnapshot> keys(TimePoint now) const { return ring_->snapshot(now); }

  const std::string& issuer() const { return issuer_; }
  /// Every audience some route's assertion names (what /auth/verify accepts by default).
  const std::vector<std::string>& audiences() const { return audiences_; }

 private:
  std::unique_ptr<AssertionKeyRing> ring_;
  std::string issuer_;
  std::vector<std::string> audiences_;
};

}  // namespace portcullis::authn

// The JWT bearer-token authenticator (RFC 6750 + RFC 7519): `Authorization: Bearer <JWS>` →
// NotPresent | Authenticated{Identity} | Rejected{jwt.* denial with its WWW-Authenticate}.
// No I/O: the JWKS is handed in (set_keys) by the layer that reads or fetches it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authn/jwt_keys.h"
#include "authn/outcome.h"
#include "core/result.h"

namespace portcullis::authn {

/// One `type: jwt` authenticator's settings (filled by the config loader).
struct JwtSettings {
  std::string name;                          ///< the authenticator's name in the configuration
  std::string issuer;                        ///< `iss` must equal this exactly
  std::vector<std::string> audiences;        ///< `aud` must contain one of these
  std::vector<std::string> algorithms;       ///< allowed JWS `alg` values, e.g. {"RS256", "ES256"}
  std::chrono::seconds leeway{60};           ///< clock tolerance for exp, nbf and iat
  std::vector<std::string> required_claims;  ///< top-level claims that must be present
  std::string user_claim = "sub";            ///< the claim that names the user
  std::string groups_claim;                  ///< optional: a string or an array of strings
  std::string realm = "portcullis";          ///< the `realm` of the Bearer challenge
};

/// Verifies bearer JWTs against one issuer, audience list, algorithm allow-list and key set.
/// Thread-safe: every method but set_keys is const, and set_keys swaps the key set atomically
/// while other threads authenticate. Not copyable or movable (hold it by pointer).
class JwtAuthenticator {
 public:
  JwtAuthenticator(JwtSettings settings, std::shared_ptr<const KeySet> keys);

  /// Load-time validation for the config loader: a non-empty issuer, at least one audience, a
  /// non-empty `algorithms` list of supported names (never "none"), a non-negative leeway of at
  /// most 10 minutes, a non-empty user_claim. The error's `where` is the settings' name.
  static core::Result<void> check_settings(const JwtSettings& settings);

  /// Load-time remarks on a settings/key-set pair that are not errors, e.g. an allowed algorithm
  /// that no key of the set can verify (every such token would be refused).
  static std::vector<std::string> compatibility_warnings(const JwtSettings& settings,
                                                         const KeySet& keys);

  /// Replaces the key set (after a JWKS reload or fetch). Atomic: concurrent authenticate calls
  /// see the old or the new set, never a mix. nullptr = no keys (every token: jwt.kid_unknown).
  void set_keys(std::shared_ptr<const KeySet> keys);

  /// The current key set (may be nullptr).
  std::shared_ptr<const KeySet> keys() const;

  /// Decides one request from its whole `Authorization` header value (empty when absent).
  /// NotPresent when there is no Bearer credential (no header, another scheme). Otherwise
  /// Authenticated, or Rejected with one of jwt.malformed, jwt.alg_not_allowed, jwt.kid_unknown,
  /// jwt.signature_invalid, jwt.expired, jwt.not_yet_valid, jwt.issuer_mismatch,
  /// jwt.audience_mismatch, each with `WWW-Authenticate: Bearer realm=..., error="invalid_token",
  /// error_description=...`. Details never contain the token (only its length and header fields).
  Outcome authenticate(std::string_view authorization_header,
                       std::chrono::system_clock::time_point now) const;

  /// The challenge for a request without credentials: `Bearer realm="..."`.
  std::string challenge() const;

  /// The denial the network layer answers with when the JWKS cannot be fetched
  /// (jwt.jwks_unavailable, 503, with `Retry-After`); `fetch_error` goes into the detail.
  Rejected jwks_unavailable(std::string_view fetch_error,
                            std::chrono::seconds retry_after = std::chrono::seconds{30}) const;

  /// true when `outcome` is a jwt.kid_unknown rejection: the network layer may refresh the JWKS
  /// (at most once per interval), set_keys, and call authenticate again.
  static bool needs_key_refresh(const Outcome& outcome);

  /// The settings as given to the constructor.
  const JwtSettings& settings() const { return settings_; }

 private:
  Outcome authenticate_token(std::string_view authorization_header,
                             std::chrono::system_clock::time_point now) const;
  Rejected reject(core::DenialCode code, std::string detail) const;

  JwtSettings settings_;
  std::atomic<std::shared_ptr<const KeySet>> keys_;
};

}  // namespace portcullis::authn

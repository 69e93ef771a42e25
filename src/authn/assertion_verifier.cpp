// verify_assertion: a JwtAuthenticator per call (settings are cheap to copy) over the ring
// snapshot's KeySet; the claims set is returned whole once the signature and claims are checked.
#include "authn/assertion_verifier.h"

#include <exception>
#include <utility>
#include <variant>

#include "authn/jwt_token.h"
#include "authn/jwt_verifier.h"

namespace portcullis::authn {

std::expected<nlohmann::json, core::Denial> verify_assertion(const AssertionSigner& signer,
                                                             std::string_view token,
                                                             std::span<const std::string> audiences,
                                                             TimePoint now) {
  try {
    JwtSettings settings;
    settings.issuer = signer.issuer();
    settings.audiences = audiences.empty()
                             ? signer.audiences()
                             : std::vector<std::string>(audiences.begin(), audiences.end());
    // SECURITY: only what the gateway signs with; no clock tolerance (the gateway checks its own
    // assertions on its own clock).
    settings.algorithms = {"ES256"};
    settings.leeway = std::chrono::seconds{0};
    // Anonymous assertions have no `sub`; every assertion has a `jti`.
    settings.user_claim = "jti";
    settings.realm = "portcullis-assertion";
    const JwtAuthenticator verifier(std::move(settings), signer.keys(now)->key_set);
    const std::string bearer = "Bearer " + std::string(token);
    auto outcome = verifier.authenticate(bearer, now);
    if (auto* rejected = std::get_if<Rejected>(&outcome)) {
      return std::unexpected(std::move(rejected->denial));
    }
    if (std::holds_alternative<NotPresent>(outcome)) {
      return std::unexpected(core::make_denial(core::DenialCode::JwtMalformed, "no assertion"));
    }
    // Verified above: the payload is the signed claims set.
    auto jws = parse_compact_jws(token);
    if (!jws)
      return std::unexpected(core::make_denial(core::DenialCode::JwtMalformed, jws.error()));
    auto claims = parse_json_object(jws->payload);
    if (!claims) {
      return std::unexpected(core::make_denial(core::DenialCode::JwtMalformed, claims.error()));
    }
    return std::move(*claims);
  } catch (const std::exception& e) {
    // SECURITY: fail closed.
    return std::unexpected(
        core::make_denial(core::DenialCode::JwtMalformed,
                          std::string("the assertion could not be verified: ") + e.what()));
  }
}

}  // namespace portcullis::authn

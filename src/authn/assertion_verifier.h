// Verifying an identity assertion the way a backend calling back would (POST /auth/verify): the
// gateway's own JWT verifier over the ring's published keys, so every refusal is a jwt.* denial
// with the verifier's detail (expired, audience, unknown kid, signature, malformed).
#pragma once

#include <expected>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "authn/assertion_signer.h"
#include "core/denial.h"

namespace portcullis::authn {

/// The verified claims set of `token`, or the denial saying why it is refused: ES256 only, a kid
/// of the ring (current or still published), exp/nbf/iat with no leeway, iss = the signer's
/// issuer, aud one of `audiences` (empty = any audience a route's assertion names).
/// Never throws.
std::expected<nlohmann::json, core::Denial> verify_assertion(const AssertionSigner& signer,
                                                             std::string_view token,
                                                             std::span<const std::string> audiences,
                                                             TimePoint now);

}  // namespace portcullis::authn

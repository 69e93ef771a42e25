// The admin endpoints of the signed identity assertion: GET /.well-known/jwks.json (the ring's
// published keys) and POST /auth/verify (a backend calls back: 200 with the verified claims, or
// 401 problem+json with the jwt.* code saying why).
#pragma once

#include <memory>
#include <optional>

#include "authn/assertion_signer.h"
#include "net/admin_handler.h"

namespace portcullis::net {

/// The longest `Cache-Control: max-age` of the JWKS, in seconds (shorter when a change is due).
inline constexpr long long kJwksMaxAgeSeconds = 300;

/// The largest /auth/verify body accepted (413 above it).
inline constexpr std::size_t kMaxVerifyBody = 32 * 1024;

/// Answers GET|HEAD /.well-known/jwks.json and POST /auth/verify (body: the assertion, raw or as
/// {"assertion": "..."}; `?audience=a` may be repeated, default: every audience of the routes),
/// at time `now`; nullopt for any other path.
std::optional<AdminReply> answer_assertion_request(const authn::AssertionSigner& signer,
                                                   const AdminRequest& request,
                                                   authn::TimePoint now);

/// An AdminHandler over `signer` (which it keeps alive) using the system clock.
AdminHandler assertion_admin_handler(std::shared_ptr<const authn::AssertionSigner> signer);

}  // namespace portcullis::net

// The signed identity assertion on the way upstream: on routes with `assertion`, the header the
// route names carries a freshly signed JWT (authn/assertion_signer.h). Kept out of pipeline.cpp.
#pragma once

#include <optional>
#include <string_view>

#include "authn/assertion_signer.h"
#include "core/denial.h"
#include "core/identity.h"
#include "pki/verdict.h"
#include "proxy/http_head.h"
#include "proxy/runtime.h"

namespace portcullis::proxy {

/// Sets the route's assertion header (replacing any copy) when the route has `assertion`; does
/// nothing otherwise. `verdict` is the connection's client-certificate verdict (nullptr without
/// client_auth): a verified certificate is bound to the assertion (cnf). Returns the denial to
/// answer with when the assertion cannot be signed (the request must not go upstream without it).
std::optional<core::Denial> add_assertion_header(HeaderList& headers, const Runtime& runtime,
                                                 const RouteRuntime& route,
                                                 const core::Identity& identity,
                                                 const pki::Verdict* verdict,
                                                 std::string_view request_id);

}  // namespace portcullis::proxy

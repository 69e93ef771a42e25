// The authentication stage (DESIGN.md stage 5): the listener's client-certificate requirement,
// then the route's authenticators in order — first Authenticated wins, any Rejected stops, none
// present is 401 authn.required with one challenge per scheme (authn.scheme_not_accepted when the
// client used a scheme the route does not take).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>

#include "core/denial.h"
#include "core/identity.h"
#include "proxy/http_head.h"
#include "proxy/pipeline.h"
#include "proxy/runtime.h"

namespace portcullis::proxy {

struct AuthnResult {
  core::Identity identity;             ///< anonymous when the route is anonymous
  std::optional<core::Denial> denial;  ///< set: refuse the request
};

/// The same stage without waiting, for routes whose authenticators all answer at once (mtls or
/// none); nullopt when one of them may have to wait (run_authn_stage then).
std::optional<AuthnResult> run_authn_stage_now(const ConnectionContext& ctx,
                                               const RouteRuntime& route, const RequestHead& head);

boost::asio::awaitable<AuthnResult> run_authn_stage(const ConnectionContext& ctx,
                                                    const RouteRuntime& route,
                                                    const RequestHead& head);

}  // namespace portcullis::proxy

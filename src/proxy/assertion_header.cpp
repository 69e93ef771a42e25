// add_assertion_header: the route's facts and the identity into an AssertionRequest, signed now.
#include "proxy/assertion_header.h"

#include <chrono>
#include <string>

namespace portcullis::proxy {

std::optional<core::Denial> add_assertion_header(HeaderList& headers, const Runtime& runtime,
                                                 const RouteRuntime& route,
                                                 const core::Identity& identity,
                                                 const pki::Verdict* verdict,
                                                 std::string_view request_id) {
  const auto& assertion = route.config->assertion;
  if (!assertion) return std::nullopt;
  const authn::AssertionRequest request{route.config->name,
                                        request_id,
                                        assertion->audience,
                                        assertion->ttl,
                                        &identity,
                                        verdict != nullptr && verdict->ok()
                                            ? std::string_view(verdict->leaf.sha256)
                                            : std::string_view{}};
  auto signed_jwt = runtime.assertion_signer
                        ? runtime.assertion_signer->sign(request, std::chrono::system_clock::now())
                        : core::Result<std::string>(core::fail("no assertion signer"));
  if (!signed_jwt) {
    // SECURITY: an upstream that relies on the assertion never gets a request without it.
    return core::make_denial(
        core::DenialCode::UpstreamUnavailable,
        "route \"" + route.config->name +
            "\": the identity assertion could not be signed: " + signed_jwt.error().message);
  }
  headers.set(assertion->header, std::move(*signed_jwt));  // replaces any copy: never two
  return std::nullopt;
}

}  // namespace portcullis::proxy

// The denial catalogue: the single table of every code, its status, title and hint.
// docs/denials.md is generated from this table (`portcullis denials --markdown`).
#include <array>

#include "core/denial.h"

namespace portcullis::core {
namespace {

using enum DenialCode;
using enum Stage;

constexpr std::array<DenialSpec, static_cast<std::size_t>(DenialCode::kCount)> kCatalogue{{
    {MtlsCertMissing, "mtls.cert_missing", 400, Tls, "No client certificate was presented",
     "Configure the client to send a certificate issued by one of the CAs the server advertises "
     "(curl: --cert and --key)."},
    {MtlsChainIncomplete, "mtls.chain_incomplete", 400, Tls,
     "The client certificate chain is incomplete",
     "Have the client send its full chain (leaf and intermediates), or add the missing "
     "intermediate to client_auth.intermediates."},
    {MtlsIssuerUntrusted, "mtls.issuer_untrusted", 400, Tls,
     "The client certificate was issued by an untrusted CA",
     "Add the issuing root CA to client_auth.trusted_ca, or issue the client a certificate from a "
     "trusted CA."},
    {MtlsCertExpired, "mtls.cert_expired", 400, Tls,
     "A certificate in the client chain has expired",
     "Renew the client certificate (or the expired CA), and check the clocks of client and "
     "server."},
    {MtlsCertNotYetValid, "mtls.cert_not_yet_valid", 400, Tls,
     "A certificate in the client chain is not yet valid",
     "Wait until its notBefore time or fix the clock of the machine that issued or checks it."},
    {MtlsPurposeInvalid, "mtls.purpose_invalid", 400, Tls,
     "The client certificate is not valid for client authentication",
     "Issue a certificate whose extendedKeyUsage includes clientAuth (or has no EKU extension)."},
    {MtlsIssuerDnMismatch, "mtls.issuer_dn_mismatch", 400, Tls,
     "The client certificate issuer does not match a configured CA",
     "The issuer DN must equal the subject DN of a CA in trusted_ca or intermediates; compare "
     "them attribute by attribute."},
    {MtlsCertRevoked, "mtls.cert_revoked", 400, Tls, "The client certificate has been revoked",
     "Issue the client a new certificate; a revoked one will not be accepted again."},
    {MtlsSelfSigned, "mtls.self_signed", 400, Tls, "The client certificate is self-signed",
     "Use a certificate issued by a CA in trusted_ca; a self-signed leaf cannot be verified."},
    {MtlsChainTooLong, "mtls.chain_too_long", 400, Tls,
     "The client certificate chain is longer than allowed",
     "Shorten the chain or raise client_auth.verify_depth."},
    {MtlsSignatureInvalid, "mtls.signature_invalid", 400, Tls,
     "A signature in the client certificate chain is invalid",
     "The certificate was altered or signed by a different key than its issuer's; reissue it."},
    {MtlsCaInvalid, "mtls.ca_invalid", 400, Tls,
     "An intermediate in the client chain is not a valid CA",
     "Every intermediate needs basicConstraints CA:TRUE, keyCertSign, and a pathLen that allows "
     "the chain."},
    {MtlsCertInvalid, "mtls.cert_invalid", 400, Tls, "The client certificate could not be verified",
     "Inspect the certificate with `portcullis verify` to see the exact reason."},
    {AuthnRequired, "authn.required", 401, Authn, "Authentication is required",
     "Send credentials with one of the schemes named in WWW-Authenticate."},
    {AuthnSchemeNotAccepted, "authn.scheme_not_accepted", 401, Authn,
     "The credentials use a scheme this route does not accept",
     "Use one of the schemes named in WWW-Authenticate."},
    {BasicMalformed, "basic.malformed", 400, Authn, "The Basic credentials are malformed",
     "Send `Authorization: Basic base64(user:password)`; the decoded value needs a colon."},
    {BasicCredentialsInvalid, "basic.credentials_invalid", 401, Authn,
     "The user name or password is incorrect", "Check the user name and password."},
    {BasicLockedOut, "basic.locked_out", 429, Authn, "Too many failed attempts; try again later",
     "Wait for the time given in Retry-After, then retry with the correct password."},
    {IdentityAmbiguous, "identity.ambiguous", 401, Authn,
     "The user name matches more than one account",
     "An administrator must remove the duplicate user from the authenticators of this route."},
    {JwtMalformed, "jwt.malformed", 401, Authn, "The bearer token is malformed",
     "Send a compact JWS: three base64url parts separated by dots, with a JSON header and "
     "payload."},
    {JwtSignatureInvalid, "jwt.signature_invalid", 401, Authn,
     "The bearer token signature is invalid",
     "The token was altered or signed by a key the gateway does not have; get a new token."},
    {JwtAlgNotAllowed, "jwt.alg_not_allowed", 401, Authn,
     "The bearer token algorithm is not allowed",
     "Sign tokens with one of the algorithms configured in the authenticator's `algorithms`."},
    {JwtKidUnknown, "jwt.kid_unknown", 401, Authn, "The bearer token key id is unknown",
     "The token's kid is not in the JWKS; check that the gateway reads the identity provider's "
     "current keys."},
    {JwtExpired, "jwt.expired", 401, Authn, "The bearer token has expired",
     "Get a new token; if it was just issued, check the clocks of the issuer and the gateway."},
    {JwtNotYetValid, "jwt.not_yet_valid", 401, Authn, "The bearer token is not yet valid",
     "The token's nbf/iat is in the future: check the clocks of the issuer and the gateway."},
    {JwtIssuerMismatch, "jwt.issuer_mismatch", 401, Authn,
     "The bearer token issuer is not accepted",
     "The iss claim must equal the configured issuer exactly, including scheme, case and "
     "trailing slash."},
    {JwtAudienceMismatch, "jwt.audience_mismatch", 401, Authn,
     "The bearer token audience is not accepted",
     "Request a token for one of the audiences configured for this route."},
    {JwtJwksUnavailable, "jwt.jwks_unavailable", 503, Authn, "The signing keys could not be loaded",
     "Check that the gateway can reach the JWKS URL."},
    {AuthzDenied, "authz.denied", 403, Authz, "Access to this resource is denied",
     "Your identity is authenticated but no rule of this route allows it; ask for access."},
    {RouteNotFound, "route.not_found", 404, Route, "No route matches this request",
     "Check the host name and path; the gateway has no route for them."},
    {RequestMalformed, "request.malformed", 400, Parse, "The request is malformed",
     "Send a well-formed HTTP/1.1 request: a Content-Length or `Transfer-Encoding: chunked` (not "
     "both), one Host of the form host[:port], a path without %2F, %5C, %00, backslashes, raw "
     "non-ASCII bytes or '..' above the root, header names without underscores, no line "
     "folding. The detail says which rule the request broke."},
    {RequestHeaderTooLarge, "request.header_too_large", 431, Parse,
     "The request headers are too large",
     "Send fewer or smaller headers (large cookies are the usual cause)."},
    {RequestBodyTooLarge, "request.body_too_large", 413, Parse, "The request body is too large",
     "Send a smaller body; this route's limit is set by max_body."},
    {RequestTimeout, "request.timeout", 408, Parse, "The request was not received in time",
     "Send the complete request headers within the listener's header timeout."},
    {RequestTransferCodingUnsupported, "request.transfer_coding_unsupported", 501, Parse,
     "The request's transfer coding is not supported",
     "Send the body with `Transfer-Encoding: chunked` alone or with a Content-Length; compress "
     "with Content-Encoding instead of a transfer coding."},
    {UpstreamConnectFailed, "upstream.connect_failed", 502, Forward,
     "The upstream service refused the connection",
     "Check that the upstream is running and listening on the configured address."},
    {UpstreamDnsFailed, "upstream.dns_failed", 502, Forward,
     "The upstream host name could not be resolved",
     "Check the upstream host name and the gateway's DNS configuration."},
    {UpstreamTimeout, "upstream.timeout", 504, Forward,
     "The upstream service did not answer in time",
     "Check the upstream's health and load, or raise connect_timeout/response_timeout."},
    {UpstreamReset, "upstream.reset", 502, Forward,
     "The upstream service closed the connection unexpectedly",
     "Check the upstream's logs for crashes or connection limits."},
    {UpstreamTlsFailed, "upstream.tls_failed", 502, Forward,
     "The TLS handshake with the upstream service failed",
     "Check the upstream certificate against upstreams.<name>.tls.ca and the SNI name."},
    {UpstreamProtocolError, "upstream.protocol_error", 502, Forward,
     "The upstream service sent an invalid HTTP response",
     "Check that the upstream speaks HTTP/1.1 on the configured port (and TLS only if "
     "configured)."},
    {UpstreamUnavailable, "upstream.unavailable", 503, Forward, "No upstream endpoint is available",
     "Check the upstream endpoints and their health."},
    {UpstreamProxyAuthRequired, "upstream.proxy_auth_required", 502, Forward,
     "The outbound proxy in front of the upstream demands authentication (407)",
     "Put credentials in upstreams.<name>.proxy (http://user:password@host:port), or bypass the "
     "proxy for this internal upstream (proxy: none, or NO_PROXY)."},
    {UpstreamProxyRefused, "upstream.proxy_refused", 502, Forward,
     "The outbound proxy refused the connection to the upstream",
     "Check the proxy's rules for this host and port (CONNECT is often limited to port 443), or "
     "bypass the proxy for this internal upstream."},
    {CalloutDnsFailed, "callout.dns_failed", 503, Authn,
     "The authorization service host name could not be resolved",
     "Check the callout URL's host name and the gateway's DNS configuration."},
    {CalloutConnectFailed, "callout.connect_failed", 503, Authn,
     "The authorization service refused the connection",
     "Check that the authorization service is running and reachable from the gateway."},
    {CalloutTlsUntrusted, "callout.tls_untrusted", 503, Authn,
     "The authorization service certificate is not trusted",
     "Add the authorization service's CA to the callout's `ca`, or fix its certificate chain."},
    {CalloutTimeout, "callout.timeout", 503, Authn,
     "The authorization service did not answer in time",
     "Check the authorization service's health or raise the callout timeout."},
    {CalloutProxyAuthRequired, "callout.proxy_auth_required", 503, Authn,
     "The outbound proxy demands authentication (407)",
     "Configure proxy credentials, or bypass the proxy for this internal target (NO_PROXY)."},
    {CalloutNotFound, "callout.not_found", 503, Authn,
     "The authorization service answered 404 Not Found",
     "Check the path of the auth URL; it is case-sensitive."},
    {CalloutProtocolMismatch, "callout.protocol_mismatch", 503, Authn,
     "The authorization service speaks a different protocol than its URL says",
     "Use https:// for a TLS service and http:// for a plain one."},
    {CalloutUnexpectedStatus, "callout.unexpected_status", 503, Authn,
     "The authorization service answered with an unexpected status",
     "Check the authorization service's logs for the status it returned."},
    {CalloutProxyRefused, "callout.proxy_refused", 503, Authn,
     "The outbound proxy refused the connection to the authorization service",
     "Check the proxy's rules for this host and port (CONNECT is often limited to port 443), or "
     "bypass the proxy for this internal service (proxy: none, or NO_PROXY)."},
    {CalloutUnauthorized, "callout.unauthorized", 401, Authn,
     "The authorization service did not authenticate this request",
     "Sign in again or send the credentials the authorization service expects."},
    {CalloutForbidden, "callout.forbidden", 403, Authn,
     "The authorization service denied this request",
     "Your identity is known to the authorization service but it does not allow this request."},
}};

constexpr bool catalogue_in_order() {
  for (std::size_t i = 0; i < kCatalogue.size(); ++i) {
    if (static_cast<std::size_t>(kCatalogue[i].id) != i) return false;
  }
  return true;
}
static_assert(catalogue_in_order(), "kCatalogue rows must follow DenialCode order");

}  // namespace

std::span<const DenialSpec> catalogue() {
  return kCatalogue;
}

const DenialSpec& spec(DenialCode code) {
  return kCatalogue[static_cast<std::size_t>(code)];
}

std::optional<DenialCode> find_denial(std::string_view code) {
  for (const auto& row : kCatalogue) {
    if (row.code == code) return row.id;
  }
  return std::nullopt;
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::Tls:
      return "tls";
    case Stage::Parse:
      return "parse";
    case Stage::Sanitize:
      return "sanitize";
    case Stage::Route:
      return "route";
    case Stage::Authn:
      return "authn";
    case Stage::Authz:
      return "authz";
    case Stage::Forward:
      return "forward";
    case Stage::Account:
      return "account";
  }
  return "unknown";
}

}  // namespace portcullis::core

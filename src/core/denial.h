// The denial vocabulary: every code the gateway can answer with, its status, public title and
// fix hint (the catalogue, defined once in denial_catalogue.cpp), and a Denial value for one
// request.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::core {

/// Every denial code. Order matches the catalogue table; `kCount` is the number of codes.
enum class DenialCode : std::uint16_t {
  MtlsCertMissing,
  MtlsChainIncomplete,
  MtlsIssuerUntrusted,
  MtlsCertExpired,
  MtlsCertNotYetValid,
  MtlsPurposeInvalid,
  MtlsIssuerDnMismatch,
  MtlsCertRevoked,
  MtlsSelfSigned,
  MtlsChainTooLong,
  MtlsSignatureInvalid,
  MtlsCaInvalid,
  MtlsCertInvalid,
  AuthnRequired,
  AuthnSchemeNotAccepted,
  BasicMalformed,
  BasicCredentialsInvalid,
  BasicLockedOut,
  IdentityAmbiguous,
  JwtMalformed,
  JwtSignatureInvalid,
  JwtAlgNotAllowed,
  JwtKidUnknown,
  JwtExpired,
  JwtNotYetValid,
  JwtIssuerMismatch,
  JwtAudienceMismatch,
  JwtJwksUnavailable,
  AuthzDenied,
  RouteNotFound,
  RequestMalformed,
  RequestHeaderTooLarge,
  RequestBodyTooLarge,
  RequestTimeout,
  RequestTransferCodingUnsupported,
  UpstreamConnectFailed,
  UpstreamDnsFailed,
  UpstreamTimeout,
  UpstreamReset,
  UpstreamTlsFailed,
  UpstreamProtocolError,
  UpstreamUnavailable,
  UpstreamProxyAuthRequired,
  UpstreamProxyRefused,
  CalloutDnsFailed,
  CalloutConnectFailed,
  CalloutTlsUntrusted,
  CalloutTimeout,
  CalloutProxyAuthRequired,
  CalloutNotFound,
  CalloutProtocolMismatch,
  CalloutUnexpectedStatus,
  CalloutProxyRefused,
  CalloutUnauthorized,
  CalloutForbidden,
  kCount
};

/// The pipeline stage that produced a denial (also the access log's `stage`).
enum class Stage : std::uint8_t { Tls, Parse, Sanitize, Route, Authn, Authz, Forward, Account };

std::string_view stage_name(Stage stage);

/// One row of the catalogue.
struct DenialSpec {
  DenialCode id;
  std::string_view code;   ///< stable dotted code, e.g. "request.malformed"
  int status;              ///< default HTTP status
  Stage stage;             ///< where in the pipeline it is decided
  std::string_view title;  ///< public one-line title
  std::string_view hint;   ///< what to do about it
};

/// The whole catalogue, in DenialCode order.
std::span<const DenialSpec> catalogue();

/// The catalogue row of `code`.
const DenialSpec& spec(DenialCode code);

/// Looks a dotted code up ("upstream.timeout" -> UpstreamTimeout).
std::optional<DenialCode> find_denial(std::string_view code);

/// A response header carried by a denial (WWW-Authenticate, Retry-After, ...).
using HeaderPair = std::pair<std::string, std::string>;

/// The decision to refuse one request: which code, with which status, and the operator evidence
/// (`detail`, only shown to clients in detailed mode; never secrets).
struct Denial {
  DenialCode code = DenialCode::RequestMalformed;
  int status = 0;  ///< 0 = the catalogue's status
  std::string detail;
  std::vector<HeaderPair> headers;
  /// A body to send instead of the rendered one (an external authorization service's own 401/403
  /// page with `pass_body: true`), with its content type. Empty = render.
  std::string passed_body;
  std::string passed_content_type;

  int effective_status() const { return status != 0 ? status : spec(code).status; }
};

/// Builds a denial with the catalogue status.
inline Denial make_denial(DenialCode code, std::string detail = {}) {
  Denial d;
  d.code = code;
  d.detail = std::move(detail);
  return d;
}

}  // namespace portcullis::core

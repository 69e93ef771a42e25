// Names of outgoing-call failures, and header lookup in an answer.
#include "core/outbound_result.h"

#include "core/ascii.h"

namespace portcullis::core {

std::string_view to_string(OutboundFailure failure) {
  switch (failure) {
    case OutboundFailure::None:
      return "none";
    case OutboundFailure::Dns:
      return "dns";
    case OutboundFailure::Connect:
      return "connect";
    case OutboundFailure::Timeout:
      return "timeout";
    case OutboundFailure::TlsUntrusted:
      return "tls_untrusted";
    case OutboundFailure::Tls:
      return "tls";
    case OutboundFailure::ProtocolMismatch:
      return "protocol_mismatch";
    case OutboundFailure::BadResponse:
      return "bad_response";
    case OutboundFailure::TooLarge:
      return "too_large";
    case OutboundFailure::ProxyAuthRequired:
      return "proxy_auth_required";
    case OutboundFailure::ProxyRefused:
      return "proxy_refused";
  }
  return "unknown";
}

std::string OutboundResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (ascii_iequals(n, name)) return v;
  }
  return {};
}

}  // namespace portcullis::core

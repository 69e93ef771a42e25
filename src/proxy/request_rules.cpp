// Request head checks and normalisation before routing (see request_rules.h).
#include "proxy/request_rules.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/request_target.h"
#include "route/host_header.h"

namespace portcullis::proxy {
namespace {

using core::DenialCode;

core::Denial malformed(std::string detail) {
  return core::make_denial(DenialCode::RequestMalformed, std::move(detail));
}

/// A header value or target for a detail: bounded, so a refused request cannot fill the log.
std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 96;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

}  // namespace

std::optional<core::Denial> normalize_request(RequestHead& head, const TransferCodingCheck& te,
                                              const config::RequestNormalization& policy) {
  using Kind = TransferCodingCheck::Kind;
  if (te.kind == Kind::Malformed) return malformed(te.why);
  if (te.kind == Kind::Unsupported) {
    return core::make_denial(DenialCode::RequestTransferCodingUnsupported, te.why);
  }

  // SECURITY: CGI, PHP, WSGI and Rack map X_Auth_User and X-Auth-User to the same variable, so
  // an underscore spelling would slip past the identity-header stripping (nginx drops them too).
  auto& fields = head.headers.fields();
  for (const auto& [name, value] : fields) {
    if (name.find('_') == std::string::npos) continue;
    if (policy.header_underscores == config::RequestNormalization::Underscores::Reject) {
      return malformed("header name \"" + excerpt(name) +
                       "\" contains an underscore (request_normalization.header_underscores: "
                       "reject)");
    }
  }
  std::erase_if(fields,
                [](const HeaderList::Field& f) { return f.first.find('_') != std::string::npos; });

  HeaderList::Field* host = nullptr;
  for (auto& field : fields) {
    if (!core::ascii_iequals(field.first, "host")) continue;
    if (host != nullptr) return malformed("more than one Host header");
    host = &field;
  }
  // An HTTP/1.0 request may omit Host (RFC 9112 3.2 requires it from 1.1 only), but a route's
  // host rule and the upstream's virtual host need one: refused rather than guessed.
  if (host == nullptr) return malformed("missing Host header");
  auto normalized_host = route::normalize_host(host->second);
  if (!normalized_host) {
    return malformed(normalized_host.error() + " (\"" + excerpt(host->second) + "\")");
  }
  host->second = std::move(*normalized_host);

  if (head.target == "*" && head.method != "OPTIONS") {
    return malformed("request target \"*\" is only allowed with OPTIONS");
  }
  auto target =
      core::normalize_target(head.target, {.keep_encoded_slash = policy.keep_encoded_slash});
  if (!target) return malformed(target.error() + " (\"" + excerpt(head.target) + "\")");
  head.target = std::move(*target);
  return std::nullopt;
}

}  // namespace portcullis::proxy

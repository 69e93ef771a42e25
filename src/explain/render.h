// Renders a Denial for the client: status, X-Denial-Code / X-Request-Id and extra headers, and
// an RFC 9457 problem+json or a small HTML body, generic or detailed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/denial.h"
#include "core/ip_network.h"

namespace portcullis::explain {

enum class BodyFormat { ProblemJson, Html };

/// Picks the body format from an Accept header: HTML when text/html is preferred over JSON
/// (browsers), problem+json otherwise (and when Accept is absent).
BodyFormat negotiate(std::string_view accept);

/// Whether a peer gets detailed denials: `always`, `never`, or `local` = loopback peers and
/// peers inside errors.detail_networks.
bool detail_allowed(const config::ErrorsConfig& errors, const core::IpAddress& peer);

struct RenderedDenial {
  int status = 0;
  std::string content_type;
  std::string body;
  /// X-Denial-Code, X-Request-Id, then the denial's own headers (WWW-Authenticate, Retry-After).
  std::vector<core::HeaderPair> headers;
};

/// The response for `denial`. `detailed` adds the `detail` member / paragraph; the title, code
/// and hint are always present.
RenderedDenial render_denial(const core::Denial& denial, std::string_view request_id, bool detailed,
                             BodyFormat format);

/// docs/denials.md, generated from the catalogue.
std::string denials_markdown();

}  // namespace portcullis::explain

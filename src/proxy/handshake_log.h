// The access-log line of a TLS handshake refused for its client certificate
// (require_handshake): no request was read, but the operator still gets the evidence.
#pragma once

#include <string_view>

#include "proxy/pipeline.h"

namespace portcullis::proxy {

/// Writes one access-log line (stage "tls", status 0, the verdict's code and detail) and counts
/// the denial. `tls_error` is the handshake error as the TLS library reported it.
void log_handshake_refusal(const ConnectionContext& ctx, std::string_view tls_error);

}  // namespace portcullis::proxy

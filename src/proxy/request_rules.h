// The request head made unambiguous before anything reads it: framing, header names, Host and
// the target are checked and normalised in place, so routing, authn, authz and the upstream all
// see the same request (docs/configuration.md, "Request normalisation"). Pure.
#pragma once

#include <optional>

#include "config/config.h"
#include "core/denial.h"
#include "proxy/http_head.h"
#include "proxy/transfer_coding.h"

namespace portcullis::proxy {

/// Checks `head` (as parsed, with its classified Transfer-Encoding) and normalises it in place:
/// - Transfer-Encoding other than exactly chunked: request.malformed, or
///   request.transfer_coding_unsupported for codings before chunked;
/// - no Host (HTTP/1.0 included) or more than one: request.malformed;
/// - header names with '_': dropped, or request.malformed under `header_underscores: reject`;
/// - Host: validated and normalised (route/host_header.h);
/// - the target: `*` only for OPTIONS, otherwise normalised (core/request_target.h).
/// Returns the denial when the request is refused (the connection must close then).
std::optional<core::Denial> normalize_request(RequestHead& head, const TransferCodingCheck& te,
                                              const config::RequestNormalization& policy);

}  // namespace portcullis::proxy

// The client-certificate half of authentication as the pipeline uses it: verdict facts for the
// access log, the mTLS Identity, and the identity headers sent to the upstream.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/identity.h"
#include "pki/verdict.h"
#include "proxy/access_log.h"
#include "proxy/http_head.h"

namespace portcullis::proxy {

/// ssl_client_verify and the presented leaf's subject/issuer/serial/sha256 (success or failure).
void record_client_cert(AccessRecord& record, const pki::Verdict& verdict);

/// The Identity of a successful verdict: method "mtls", user = the subject's CN (or the whole
/// subject when it has none), and the certificate facts authz rules match against.
/// The Identity shares `verdict` (its leaf is the certificate's facts).
core::Identity identity_from_certificate(const std::shared_ptr<const pki::Verdict>& verdict,
                                         std::string pem);

/// Sets the route's identity headers (names configured per route) from `identity` and, on
/// listeners with client_auth, the verdict (`verify` is sent even when no certificate was).
void add_identity_headers(HeaderList& headers, const config::IdentityHeaders& names,
                          const core::Identity& identity, const pki::Verdict* verdict);

/// Percent-encodes a PEM for a header, like nginx's $ssl_client_escaped_cert.
std::string url_escape(std::string_view text);

}  // namespace portcullis::proxy

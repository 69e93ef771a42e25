// Header hygiene: raw-header checks Beast does not make (obs-fold), hop-by-hop removal, stripping
// of client-supplied identity headers, and the X-Forwarded-* set added towards the upstream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http_head.h"

namespace portcullis::proxy {

/// Checks a complete raw header block (request/status line, fields, final CRLF) for what the
/// parser would silently accept: obsolete line folding (RFC 9112 5.2) and bare CR / NUL bytes.
/// Returns an explanation, or "" when the block is acceptable.
std::string check_raw_header_block(std::string_view block);

/// Removes hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
/// Transfer-Encoding, Upgrade, Proxy-Authorization, Content-Length) and every field named in
/// Connection except Host. Framing is re-added by the serialiser from the head's framing.
/// Linear in the size of the head.
void remove_hop_by_hop(HeaderList& headers);

/// Names of headers a client must never set itself because the gateway asserts them: the
/// configured identity and assertion header names, DESIGN.md's default names (X-Auth-User,
/// X-Client-Subject, ..., X-Portcullis-Assertion), every X-Client-Cert* and
/// X-Forwarded-Client-Cert.
class IdentityHeaderStripper {
 public:
  explicit IdentityHeaderStripper(std::vector<std::string> names);
  /// Removes every protected header; returns the names removed (for the log), empty when none.
  std::vector<std::string> strip(HeaderList& headers) const;

 private:
  std::vector<std::string> names_;  ///< lower case
};

/// Sets X-Forwarded-For (appending the client address), X-Forwarded-Proto and X-Forwarded-Host.
void add_forwarded_headers(HeaderList& headers, std::string_view client_ip, bool tls,
                           std::string_view host);

}  // namespace portcullis::proxy

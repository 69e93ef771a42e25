// How an outgoing connection failed, in words an operator can act on: DNS errors told apart from
// connection errors, and TLS failures classified (untrusted certificate, the peer not speaking
// TLS at all, anything else) with the presented chain. Shared by upstreams, JWKS and callouts.
#pragma once

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace portcullis::net {

/// True when `ec` came from name resolution (getaddrinfo / netdb), not from the connection.
bool is_dns_error(const boost::system::error_code& ec);

/// One sentence for a failed client handshake: the verification error when the certificate was
/// refused, otherwise the TLS error with the TLS library's queued reasons.
std::string tls_failure_text(SSL* ssl, const boost::system::error_code& ec);

enum class TlsFailureKind {
  Untrusted,         ///< the peer's certificate failed verification (trust, name, dates)
  ProtocolMismatch,  ///< the peer answered in something that is not TLS (plain HTTP)
  Other,
};

struct TlsFailure {
  TlsFailureKind kind = TlsFailureKind::Other;
  std::string text;                ///< tls_failure_text, or the mismatch explanation
  std::vector<std::string> chain;  ///< "subject (issuer: ...)" per certificate the peer sent
};

/// Classifies a failed client handshake on `ssl`.
TlsFailure classify_tls_failure(SSL* ssl, const boost::system::error_code& ec);

/// The certificates the peer presented, leaf first, as "subject (issuer: issuer)".
std::vector<std::string> presented_chain(SSL* ssl);

}  // namespace portcullis::net

// TLS contexts built from the configuration: one server context per TLS listener (shared by all
// workers: SSL_CTX is thread-safe for SSL_new) and one client context per TLS upstream.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <memory>

#include "config/config.h"
#include "core/result.h"

namespace portcullis::net {

/// Server context: TLS 1.2+, the listener's certificate chain and key (checked: readable,
/// unencrypted, matching the leaf). Errors name the YAML key and line.
core::Result<std::unique_ptr<boost::asio::ssl::context>> make_server_context(
    const config::ServerTlsConfig& tls);

/// Client context for an upstream (or a JWKS url): TLS 1.2+, peer verification against `tls.ca` (or
/// the system store when absent).
core::Result<std::unique_ptr<boost::asio::ssl::context>> make_upstream_context(
    const config::UpstreamTlsConfig& tls);

/// True when the handshake verified the peer's certificate and the verification failed. AWS-LC
/// reports X509_V_ERR_INVALID_CALL until a verification has run, so a handshake that failed
/// before (a plain-HTTP peer, garbage, a timeout) is not a certificate failure.
inline bool peer_verification_failed(const SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  return result != X509_V_OK && result != X509_V_ERR_INVALID_CALL;
}

}  // namespace portcullis::net

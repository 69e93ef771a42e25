// Client-certificate authentication on a TLS listener: installs the verification engine
// (pki::verify_chain, behind a verdict cache) as the SSL_CTX's certificate-verify callback, keeps
// each connection's Verdict on its SSL object (a resumed session's verdict is derived again from
// the chain its ticket holds), and maps a failed verdict to a handshake alert in
// require_handshake mode.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "pki/trust_store.h"
#include "pki/verdict_cache.h"
#include "pki/verify.h"

namespace portcullis::net {

/// The client_auth settings of one listener, shared read-only by every worker.
struct ClientAuth {
  config::ClientAuthMode mode = config::ClientAuthMode::Off;
  std::shared_ptr<const pki::TrustStore> store;
  pki::VerifyPolicy policy;
  std::shared_ptr<const pki::Verdict> missing;  ///< the (constant) verdict when none was sent
  /// Successful verdicts by chain (pki::chain_cache_key), shared by the workers; scoped to
  /// `store` and `policy`, so a reload (new ClientAuth) starts empty.
  std::shared_ptr<pki::VerdictCache> cache;
};

/// True when a failed or missing client certificate fails the handshake (require_handshake);
/// otherwise the handshake completes and the pipeline denies with the explained code.
inline bool refuses_in_handshake(const ClientAuth& auth) {
  return auth.mode == config::ClientAuthMode::RequireHandshake;
}

/// The verdict on the chain a client presented (leaf first): the verdict cache's, or the
/// verification engine's (cached when a success). Thread-safe.
std::shared_ptr<const pki::Verdict> verdict_for_chain(const ClientAuth& auth,
                                                      const std::vector<X509*>& presented);

/// The X509_V_ERR_* whose alert best describes a failed `verdict` (the TLS library picks the
/// alert from it: certificate_expired, unknown_ca, certificate_revoked, ...).
int verdict_alert_error(const pki::Verdict& verdict);

/// Loads trusted_ca / intermediates / crl (fail closed: every error names the YAML key).
core::Result<std::unique_ptr<ClientAuth>> make_client_auth(const config::ClientAuthConfig& config);

/// Configures `ctx`: CertificateRequest with the trusted CA names and the verify callback.
/// `auth` must outlive `ctx`.
void install_client_auth(SSL_CTX* ctx, const ClientAuth& auth);

/// The verdict of a connection after its handshake (successful or not): the one recorded by the
/// verify callback, the one the resumed session's chain gets now, or auth.missing when the
/// client sent no certificate (in this handshake or, when resumed, in the one that created the
/// session).
std::shared_ptr<const pki::Verdict> connection_verdict(SSL* ssl, const ClientAuth& auth);

/// The leaf certificate the client presented, as PEM ("" when none).
std::string peer_certificate_pem(SSL* ssl);

}  // namespace portcullis::net

// The client-certificate chain verification engine shared by the gateway (mTLS) and
// `portcullis verify`: OpenSSL path validation plus our own checks, every error recorded and
// mapped to exactly one mtls.* code, with a near-miss hint.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/denial.h"
#include "pki/trust_store.h"
#include "pki/verdict.h"

namespace portcullis::pki {

/// How to verify. Defaults are the gateway's.
struct VerifyPolicy {
  /// Maximum number of intermediate CA certificates between the leaf and the trust anchor
  /// (neither counts), exactly as nginx's ssl_verify_depth and OpenSSL's verify depth:
  /// 0 = the leaf must be issued by a CA of trusted_ca; 1 = one intermediate; ...
  int max_depth = 4;
  /// Enforce `purpose` (for Client: the EKU, when present, must include clientAuth, and
  /// OpenSSL's SSL-client purpose checks on the whole chain). false = no purpose check at all.
  bool require_client_auth_eku = true;
  /// The leaf's issuer DN must equal (canonically) the subject of a CA in trusted_ca or
  /// intermediates, like Azure Application Gateway's VerifyClientCertIssuerDN.
  bool verify_issuer_dn = false;
  enum Purpose { Client, Server, Any } purpose = Client;
  /// Verification time; nullopt = now.
  std::optional<std::chrono::system_clock::time_point> at;
  /// X509_V_FLAG_X509_STRICT, kept for `portcullis verify --strict` and the gateway's choice
  /// (off, to accept what nginx and HAProxy accept). AWS-LC defines the flag as 0 and always
  /// applies the checks it has; OpenSSL 3's extra RFC 5280 findings (key identifiers, critical
  /// basicConstraints and keyUsage on CAs, ...) do not exist there, so this changes nothing.
  bool x509_strict = true;
  /// X509_V_FLAG_PARTIAL_CHAIN: a trusted certificate that is not a self-signed root may end a
  /// chain. Diagnostics only (`portcullis verify --partial-chain`, the conformance runner's
  /// OpenSSL-comparable mode). SECURITY: the gateway never sets it: a leaf placed in trusted_ca
  /// must not become a trust anchor.
  bool allow_partial_chain = false;
  /// Also fill Verdict::presented and Verdict::chain on success (`portcullis verify`); the
  /// gateway leaves this off: a success needs only the leaf's facts.
  bool evidence_on_success = false;
};

/// Verifies `presented` (leaf first, then whatever the client sent, as it sent it) against
/// `store`. Never throws; an empty vector yields verdict_no_certificate().
Verdict verify_chain(const TrustStore& store, const std::vector<X509*>& presented,
                     const VerifyPolicy& policy);

/// The verdict when the client sent no certificate: Outcome::None, MtlsCertMissing, and a hint
/// listing the CA names the server advertised.
Verdict verdict_no_certificate(const TrustStore& store);

/// A cache key for the verdict of `presented`: lower-case hex SHA-256 over the SHA-256 of each
/// certificate's DER, in order ("" when a certificate cannot be hashed: do not cache). Scope a
/// cache to one TrustStore and VerifyPolicy, and bound an entry's life by the certificates'
/// notAfter and the CRLs' nextUpdate.
std::string chain_cache_key(const std::vector<X509*>& presented);

/// The code an OpenSSL X509_V_ERR_* maps to on its own. The engine refines the ambiguous
/// "issuer not found" errors with the chain it built (chain_incomplete vs issuer_untrusted vs
/// self_signed), see verify.cpp.
core::DenialCode code_for_verify_error(int x509_error);

}  // namespace portcullis::pki

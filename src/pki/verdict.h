// Verdict: the outcome of verifying one client certificate chain — the denial code, where and
// why it failed, the near-miss hint, and the evidence (what the client sent, the chain built).
// Rendered for the access log (detail(), ssl_client_verify()) and for `portcullis verify`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/denial.h"
#include "pki/cert_files.h"

namespace portcullis::pki {

/// One error found during verification (OpenSSL's or one of our own checks).
struct VerifyIssue {
  int depth = -1;         ///< 0 = the leaf; -1 unknown
  int openssl_error = 0;  ///< X509_V_ERR_*; 0 = our own check (issuer DN, ...)
  core::DenialCode code = core::DenialCode::MtlsCertInvalid;  ///< the code this error maps to
  std::string reason;                                         ///< OpenSSL's error string or ours
  std::string subject;  ///< RFC 2253 subject of the certificate at `depth`, if known
};

/// The verdict on one client certificate chain.
struct Verdict {
  enum class Outcome { None, Success, Failed };

  Outcome outcome = Outcome::None;
  /// Set when Failed (the most specific code), and MtlsCertMissing when None.
  std::optional<core::DenialCode> code;
  int depth = -1;         ///< depth of the deciding error (0 = leaf); -1 unknown or none
  int openssl_error = 0;  ///< X509_V_ERR_* of the deciding error; 0 when the failure is ours
  std::string reason;     ///< OpenSSL's error string or ours
  std::string hint;       ///< the near-miss hint: concrete, naming certificates
  std::vector<VerifyIssue> issues;     ///< every error recorded, in the order found
  std::vector<CertSummary> presented;  ///< what the client sent, leaf first (failures; see policy)
  std::vector<CertSummary> chain;      ///< the chain built, leaf first, when one was built
  CertSummary leaf;                    ///< the presented leaf (always filled when one was sent)

  bool ok() const { return outcome == Outcome::Success; }

  /// One operator-readable line for the denial's `detail` and the access log: code, reason,
  /// depth, leaf subject/issuer/serial/sha256, hint, and the other errors.
  std::string detail() const;

  /// nginx-style $ssl_client_verify: "NONE" | "SUCCESS" | "FAILED:<code>" (the dotted code).
  std::string ssl_client_verify() const;
};

}  // namespace portcullis::pki

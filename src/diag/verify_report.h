// `portcullis verify`: loads the files exactly as the gateway loads a listener's client_auth
// (pki::TrustStore::load) and runs the gateway's engine (pki::verify_chain) on the certificate,
// so the verdict, code, evidence and hint are the ones the gateway would give.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "diag/cert_facts.h"
#include "diag/file_contents.h"
#include "pki/verdict.h"
#include "pki/verify.h"

namespace portcullis::diag {

/// What to verify, and how (the policy defaults are the gateway's client_auth defaults).
struct VerifyRequest {
  std::string cert_file;                  ///< the leaf first; any further certificates are sent
  std::optional<std::string> chain_file;  ///< more certificates the client sends
  std::string ca_file;                    ///< trusted_ca
  std::optional<std::string> intermediates_file;
  std::optional<std::string> crl_file;
  pki::VerifyPolicy policy = default_policy();
  ReadOptions read;  ///< for a PKCS#12 CERT file

  /// The gateway's: verify_depth 4, clientAuth EKU, no issuer DN check, X509_STRICT off.
  static pki::VerifyPolicy default_policy();
};

/// One certificate of the chain that was built.
struct ChainEntry {
  std::string role;    ///< "leaf", "intermediate", "trust anchor", "root, not in trusted_ca"
  std::string source;  ///< "presented", "intermediates", "trusted_ca", "" (unknown)
  CertFacts facts;
};

/// The outcome of `verify`.
struct VerifyReport {
  VerifyRequest request;
  std::chrono::system_clock::time_point at;  ///< the verification time
  pki::Verdict verdict;
  std::vector<CertFacts> presented;  ///< leaf first, as sent
  std::vector<ChainEntry> chain;     ///< the chain built, leaf first (when one was built)
  std::vector<std::string> store_warnings;
  std::size_t trusted_count = 0;
  std::size_t intermediates_count = 0;
  std::size_t crl_count = 0;
};

/// Why no verdict could be reached.
struct VerifyError {
  std::string message;
  /// When the trust bundle was refused: the check-bundle finding that explains it (a bundle.*
  /// code and its fix), so that even this refusal carries a code and a hint.
  std::string code;
  std::string fix;
};

/// Loads the files and verifies. Errors (unreadable files, no certificate, a trust bundle the
/// gateway would refuse) mean that no verdict could be reached: usage, exit 2.
std::expected<VerifyReport, VerifyError> run_verify(const VerifyRequest& request);

/// "client" / "server" / "any".
std::string_view purpose_name(pki::VerifyPolicy::Purpose purpose);

}  // namespace portcullis::diag

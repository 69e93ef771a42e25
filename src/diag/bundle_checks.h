// Validation of a trusted-client-CA bundle, as `portcullis check-bundle` reports it and as the
// gateway applies it at start-up: every finding has a stable code, a severity, the certificate
// it concerns and a fix. The codes mirror Azure Application Gateway's upload checks.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "diag/cert_facts.h"
#include "diag/chains.h"
#include "diag/file_contents.h"

namespace portcullis::diag {

enum class Severity { Error, Warning };

/// "error" / "warning".
std::string_view severity_name(Severity severity);

/// One code of the bundle checks: its usual severity and the fix printed with every finding.
struct FindingSpec {
  std::string_view code;
  std::string_view severity;  ///< "error", "warning", or "error with --one-root, else warning"
  std::string_view title;
  std::string_view fix;
};

/// Every finding code, in the order docs/diagnostics.md lists them.
std::span<const FindingSpec> bundle_finding_catalogue();

/// The catalogue row of `code` (nullptr when unknown).
const FindingSpec* find_bundle_finding(std::string_view code);

/// The certificate a finding is about.
struct CertRef {
  std::size_t index = 0;  ///< 1-based position in the file
  std::string subject;
  std::string sha256;
};

/// One finding of the bundle checks.
struct Finding {
  std::string code;  ///< "bundle.empty", "bundle.ca_expired", ... (docs/diagnostics.md)
  Severity severity = Severity::Error;
  std::optional<CertRef> cert;
  int line = 0;         ///< the line in the file, when the finding is about data (0 = none)
  std::string message;  ///< what is wrong, concretely
  std::string fix;      ///< what to do about it
};

struct BundleOptions {
  /// Exactly one self-signed root, as Azure requires: bundle.root_count becomes an error.
  bool one_root = false;
  /// Evaluation time; nullopt = now.
  std::optional<std::chrono::system_clock::time_point> at;
  /// A CA expiring within this window is reported.
  std::chrono::seconds expiring_within = std::chrono::hours(24 * 30);
};

/// Above this many bytes of advertised CA names, some clients fail or stall (a CertificateRequest
/// larger than one 16 KiB TLS record; Windows SChannel's documented trusted-issuer limit).
inline constexpr std::size_t kCaNamesWarnBytes = 16384;
/// The certificate_authorities list of a CertificateRequest cannot exceed 2^16-1 bytes.
inline constexpr std::size_t kCaNamesMaxBytes = 65535;

/// The outcome of checking one bundle.
struct BundleReport {
  std::string file;
  FileFormat format = FileFormat::Empty;
  std::size_t size = 0;
  std::chrono::system_clock::time_point at;  ///< the evaluation time
  std::vector<CertFacts> certificates;       ///< in file order (index = position + 1)
  std::vector<int> lines;                    ///< line of each certificate's block (0 = binary)
  std::vector<Chain> chains;                 ///< how the certificates link up
  std::size_t ca_count = 0;
  std::size_t root_count = 0;
  /// Bytes of the certificate_authorities list the server sends in its CertificateRequest.
  std::size_t ca_names_bytes = 0;
  std::vector<Finding> findings;  ///< errors first, then warnings, each in file order

  std::size_t error_count() const;
  std::size_t warning_count() const;
};

/// Runs every check on decoded contents.
BundleReport check_bundle(const FileContents& contents, const BundleOptions& options);

/// Reads (PEM, DER, PKCS#7, PKCS#12) and checks `path`. Errors only when it cannot be read.
core::Result<BundleReport> check_bundle_file(const std::string& path, const BundleOptions& options,
                                             const ReadOptions& read = {});

/// The findings' lines for an operator log: "bundle.ca_expired: certificate 2 (CN=x): ...".
std::string finding_line(const Finding& finding);

/// Start-up use by the gateway (trusted_ca, upstream tls.ca). An error finding refuses: the
/// message names the file, the code, the certificate and the fix. On success, the warnings as
/// one line each ("\"file\": bundle.ca_expiring: ...").
core::Result<std::vector<std::string>> check_trust_bundle_for_loading(const std::string& path);

}  // namespace portcullis::diag

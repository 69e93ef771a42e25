// `portcullis inspect`: every certificate, key (type and size only, never key material), CSR and
// CRL of a PEM, DER, PKCS#7 or PKCS#12 file, and the chains its certificates form.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "diag/cert_facts.h"
#include "diag/chains.h"
#include "diag/file_contents.h"

namespace portcullis::diag {

/// A key: what it is, never what it holds.
struct KeyFacts {
  bool is_private = false;
  bool encrypted = false;  ///< could not be read without a passphrase
  std::string type;        ///< "EC P-256", "RSA 2048", "ED25519"; "" when undecodable
  /// 1-based numbers (among the file's certificates) of the certificates this key belongs to.
  std::vector<std::size_t> matches_certificates;
};

/// A certificate signing request.
struct CsrFacts {
  std::string subject;
  std::string key_type;
  std::string signature_algorithm;
  bool signature_valid = false;                 ///< self-signature verifies with the enclosed key
  std::vector<std::string> sans;                ///< requested subjectAltNames
  std::vector<std::string> extended_key_usage;  ///< requested EKU
  std::vector<std::string> key_usage;           ///< requested keyUsage
};

/// A certificate revocation list.
struct CrlFacts {
  std::string issuer;
  std::string last_update;  ///< RFC 3339
  std::string next_update;  ///< RFC 3339; "" when absent
  std::string status;       ///< "current (next update in 6 days)", "expired 2 days ago at ..."
  bool expired = false;
  std::size_t revoked = 0;
  std::string crl_number;  ///< hex; "" when absent
  std::string signature_algorithm;
  std::string authority_key_id;
  /// 1-based number of the file's certificate whose key verifies the CRL; 0 = none in the file.
  std::size_t signed_by_certificate = 0;
};

/// One object of the file.
struct InspectEntry {
  ItemKind kind = ItemKind::Other;
  std::string label;
  int line = 0;
  std::string container;
  std::size_t cert_number = 0;  ///< 1-based among certificates; 0 for other kinds
  std::optional<CertFacts> cert;
  std::optional<KeyFacts> key;
  std::optional<CsrFacts> csr;
  std::optional<CrlFacts> crl;
};

/// Everything inspect reports about one file.
struct InspectReport {
  std::string file;
  FileFormat format = FileFormat::Empty;
  std::size_t size = 0;
  std::chrono::system_clock::time_point at;
  bool used_password = false;
  std::vector<InspectEntry> entries;
  std::vector<DataProblem> problems;
  /// The chains the certificates form; members are 0-based certificate positions
  /// (cert_number - 1).
  std::vector<Chain> chains;
};

/// Inspects decoded contents at time `at` (for "time left").
InspectReport inspect_contents(const FileContents& contents,
                               std::chrono::system_clock::time_point at);

/// Reads and inspects `path`. Errors only when the file cannot be read.
core::Result<InspectReport> inspect_file(const std::string& path, const ReadOptions& read,
                                         std::optional<std::chrono::system_clock::time_point> at);

}  // namespace portcullis::diag

// The facts the diagnostics report about one certificate, beyond pki::CertSummary: signature
// algorithm and hash, key size, basicConstraints details, and "time left" phrasing.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>

#include "pki/cert_files.h"

namespace portcullis::diag {

/// Everything check-bundle, verify and inspect print about a certificate.
struct CertFacts {
  pki::CertSummary summary;
  int version = 0;                   ///< 1, 2 or 3
  std::string signature_algorithm;   ///< "ecdsa-with-SHA256", "sha1WithRSAEncryption", ...
  std::string signature_hash;        ///< "SHA256", "SHA1", "MD5", "" (EdDSA, unknown)
  bool weak_signature_hash = false;  ///< MD2, MD4, MD5 or SHA-1
  std::string key_algorithm;         ///< "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  bool basic_constraints = false;  ///< the extension is present
  bool basic_constraints_critical = false;
  long path_len = -1;  ///< pathLenConstraint; -1 = none
  bool key_usage_present = false;
  bool invalid_extensions = false;  ///< malformed or duplicate extensions (OpenSSL EXFLAG_INVALID)
};

/// The facts of `cert` (never fails; what OpenSSL cannot render stays empty).
CertFacts cert_facts(X509* cert);

/// The name of `key`'s algorithm as the reports spell it: "RSA", "RSA-PSS", "EC", "ED25519",
/// "X25519", "DSA", "DH", else the type's OpenSSL short name ("unknown" when it has none).
std::string key_algorithm_name(const EVP_PKEY* key);

/// "expires in 300 days", "expired 3 days ago", "not valid for another 2 h".
std::string validity_phrase(const pki::CertSummary& s, std::chrono::system_clock::time_point now);

/// "self-signed root CA", "intermediate CA", "leaf" (a CA that is self-issued but not
/// self-signed counts as an intermediate).
std::string role_of(const pki::CertSummary& s);

}  // namespace portcullis::diag

// Issuing keys, certificates and CRLs in-process (OpenSSL 3.0 EVP), and writing them as PEM.
// Used by the demo PKI and by tests and diagnostics that need arbitrary, even broken, certificates.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace portcullis::pki {

/// Key algorithms the builder can generate.
enum class KeyType { EcP256, Rsa2048 };

/// A fresh key pair.
core::Result<EvpPkeyPtr> generate_key(KeyType type = KeyType::EcP256);

/// Parses an RFC 2253 string ("CN=leaf,O=Example": most specific RDN first, the order
/// summarize() prints) into an X509_NAME. Supports backslash escapes ("\,", "\2C");
/// multi-valued RDNs ("+") are rejected.
core::Result<X509NamePtr> parse_distinguished_name(std::string_view rfc2253);

/// What to put in a certificate. Designated initialisers must follow this field order.
struct CertSpec {
  std::string subject = "CN=portcullis-test";  ///< RFC 2253, see parse_distinguished_name()
  EVP_PKEY* key = nullptr;  ///< the subject key pair; nullptr = generate one of `key_type`
  KeyType key_type = KeyType::EcP256;
  /// Issuer certificate and the key that signs. Both nullptr = self-signed by the subject key.
  /// issuer_key need not match issuer_cert: that is how tests make a bad signature.
  X509* issuer_cert = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  std::string serial_hex;  ///< e.g. "1A2B"; empty = 16 random bytes (positive)
  std::chrono::seconds not_before = std::chrono::hours(-1);       ///< offset from now
  std::chrono::seconds not_after = std::chrono::hours(24 * 365);  ///< offset from now
  bool is_ca = false;
  int path_len = -1;              ///< CA pathLenConstraint; -1 = none
  bool basic_constraints = true;  ///< false = omit the extension (non-conforming CAs in tests)
  /// keyUsage names ("digitalSignature", "keyCertSign", "cRLSign", "keyEncipherment", ...),
  /// always critical. nullopt = role default (CA: keyCertSign,cRLSign; EC leaf:
  /// digitalSignature; RSA leaf: digitalSignature,keyEncipherment); empty = omit.
  std::optional<std::vector<std::string>> key_usage;
  std::vector<std::string> extended_key_usage;  ///< "serverAuth", "clientAuth", OIDs; empty = omit
  std::vector<std::string> sans;  ///< "DNS:x", "IP:1.2.3.4", "IP:::1", "email:x", "URI:x"
  bool key_identifiers = true;    ///< subjectKeyIdentifier + authorityKeyIdentifier (keyid)
};

/// A signed certificate and its subject's key pair.
struct IssuedCert {
  X509Ptr cert;
  EvpPkeyPtr key;
};

/// Builds and signs (SHA-256) a v3 certificate as `spec` says.
core::Result<IssuedCert> issue_certificate(const CertSpec& spec);

/// What to put in a CRL.
struct CrlSpec {
  X509* issuer_cert = nullptr;     ///< required
  EVP_PKEY* issuer_key = nullptr;  ///< required
  std::vector<X509*> revoked;      ///< certificates to list (by serial number)
  std::chrono::seconds last_update = std::chrono::hours(-1);      ///< offset from now
  std::chrono::seconds next_update = std::chrono::hours(24 * 7);  ///< offset from now
  long crl_number = 1;
};

/// Builds and signs (SHA-256) a v2 CRL with authorityKeyIdentifier and cRLNumber.
core::Result<X509CrlPtr> issue_crl(const CrlSpec& spec);

/// The key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
std::string private_key_to_pem(EVP_PKEY* key);

/// Writes certificates (in order) as PEM, mode 0644, replacing `path` atomically.
core::Result<void> write_certificates(const std::string& path, const std::vector<X509*>& certs);

/// Writes the key as unencrypted PKCS#8 PEM, mode 0600, replacing `path` atomically.
core::Result<void> write_private_key(const std::string& path, EVP_PKEY* key);

/// Writes the CRL as PEM, mode 0644, replacing `path` atomically.
core::Result<void> write_crl(const std::string& path, X509_CRL* crl);

}  // namespace portcullis::pki

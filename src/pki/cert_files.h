// Loading certificates and private keys from PEM files with specific, operator-readable errors.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/identity.h"
#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace portcullis::pki {

/// Every certificate in a PEM file, in file order. Errors: unreadable file, no certificate,
/// a broken PEM block (with the line), a private key in a certificate file.
core::Result<std::vector<X509Ptr>> load_certificates(const std::string& file);

/// The private key of a PEM file (PKCS#8, traditional RSA/EC). Errors: unreadable, no key,
/// encrypted with a passphrase (not supported: say so), more than one key.
core::Result<EvpPkeyPtr> load_private_key(const std::string& file);

/// load_certificates() on PEM text already in memory; `name` stands for the file in messages
/// (e.g. "X-Client-Cert header").
core::Result<std::vector<X509Ptr>> parse_certificates(std::string_view pem,
                                                      const std::string& name);

/// load_private_key() on PEM text already in memory; `name` stands for the file in messages.
core::Result<EvpPkeyPtr> parse_private_key(std::string_view pem, const std::string& name);

/// Whether `key` is the private half of `cert`'s public key.
bool key_matches_certificate(EVP_PKEY* key, X509* cert);

/// Operator-facing facts of one certificate: its identity (subject, e.g. "CN=client,O=Example",
/// issuer, serial, sha256, SANs) and the rest.
struct CertSummary : core::CertIdentity {
  std::string not_before;  ///< RFC 3339
  std::string not_after;
  bool is_ca = false;
  bool self_signed = false;
  std::vector<std::string> extended_key_usage;  ///< "serverAuth", "clientAuth", or dotted OIDs
  std::vector<std::string> key_usage;  ///< "digitalSignature", "keyCertSign", ...; empty = absent
  std::string key_type;                ///< "EC P-256", "RSA 2048", "ED25519", ...
  std::string subject_key_id;          ///< hex "AB:CD:...", "" when absent
  std::string authority_key_id;        ///< keyIdentifier of the AKI, "" when absent
  std::chrono::system_clock::time_point valid_from;   ///< not_before as a time point
  std::chrono::system_clock::time_point valid_until;  ///< not_after as a time point
};

/// The facts of `cert` (never fails; fields OpenSSL cannot render are left empty).
CertSummary summarize(X509* cert);

/// An ASN1_TIME as a time point, clamped to what system_clock can hold (certificates valid
/// "forever" say 9999-12-31). nullopt when the time cannot be parsed.
std::optional<std::chrono::system_clock::time_point> asn1_time_point(const ASN1_TIME* t);

/// An OID's short name ("clientAuth") when `prefer_short_name` and OpenSSL knows one, else its
/// dotted form; "" for nullptr.
std::string object_text(const ASN1_OBJECT* obj, bool prefer_short_name);

/// The certificate as PEM text.
std::string to_pem(X509* cert);

}  // namespace portcullis::pki

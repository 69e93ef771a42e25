// Near-miss hint texts for certificate verification ("expired 37 s ago at ...", "EKU has
// serverAuth only", the closest configured CA subject, ...) and the small formatting helpers
// they need. Pure text: no verification logic here.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/denial.h"
#include "pki/cert_files.h"  // asn1_time_point

namespace portcullis::pki {

class TrustStore;

/// The phrase used whenever the presented certificate is one of trusted_ca's leaves.
inline constexpr std::string_view kLeafInTrustedCaHint =
    "this certificate is itself in trusted_ca: a leaf in the CA bundle is not a trust anchor for "
    "others";

/// RFC 2253 text of a name ("CN=leaf,O=Example"), control and non-ASCII bytes escaped.
std::string name_text(const X509_NAME* name);

/// "CN=x" of a certificate's subject / issuer ("" for nullptr).
std::string subject_text(const X509* cert);
std::string issuer_text(const X509* cert);

/// RFC 3339 UTC, seconds precision: "2026-01-02T03:04:05Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

/// A duration in the unit that fits, rounded: "37 s", "5 min", "3 h", "1 day", "12 days".
std::string human_duration(std::chrono::seconds d);

/// "expired 37 s ago at 2026-01-02T03:04:05Z".
std::string expired_phrase(std::chrono::system_clock::time_point not_after,
                           std::chrono::system_clock::time_point now);

/// "not valid until 2026-01-02T03:04:05Z (in 3 days)".
std::string not_yet_valid_phrase(std::chrono::system_clock::time_point not_before,
                                 std::chrono::system_clock::time_point now);

/// What a certificate's EKU lacks for `wanted` ("clientAuth"/"serverAuth"): "EKU has
/// serverAuth only", "EKU has serverAuth, codeSigning but not clientAuth", "EKU is empty";
/// "" when the EKU is absent or includes `wanted`.
std::string eku_phrase(X509* cert, std::string_view wanted);

/// keyUsage names of `cert` ("digitalSignature", ...); empty when the extension is absent.
std::vector<std::string> key_usage_names(X509* cert);

/// The candidate most similar to `dn` (both RFC 2253): most equal RDNs (case-insensitive),
/// then the smallest edit distance. nullopt when there are no candidates.
std::optional<std::string> closest_dn(std::string_view dn,
                                      const std::vector<std::string>& candidates);

/// "issuer DN 'CN=A,O=B' differs from every configured CA subject; closest: 'CN=A,O=C'".
std::string issuer_dn_hint(std::string_view issuer_dn, const std::vector<std::string>& ca_subjects);

/// "the client did not send intermediate CN=X and it is not in trusted_ca or intermediates:
/// have the client send its full chain or add CN=X to intermediates" (+ the key id, if known).
std::string missing_intermediate_hint(std::string_view issuer_dn,
                                      std::string_view authority_key_id);

/// "the server advertised these CA names: 'CN=A', 'CN=B'; clients only offer certificates
/// issued by one of them".
std::string advertised_names_hint(const std::vector<std::string>& names);

/// "AB:CD:..." of an octet string ("" for nullptr).
std::string key_id_text(const ASN1_OCTET_STRING* id);

/// What the engine knows about the deciding error of a failed verification.
struct HintInput {
  core::DenialCode code = core::DenialCode::MtlsCertInvalid;
  int openssl_error = 0;  ///< 0 = one of our own checks
  int depth = -1;
  X509* cert = nullptr;         ///< the certificate at `depth`, when known
  X509* leaf = nullptr;         ///< the presented leaf
  std::vector<X509*> chain;     ///< the chain built, leaf first (at least the leaf)
  bool top_trusted = false;     ///< the chain's last certificate is one of trusted_ca's CAs
  X509_CRL* crl = nullptr;      ///< the CRL of a CRL error or of a revocation
  std::string_view reason;      ///< OpenSSL's text or ours
  std::string_view wanted_eku;  ///< "clientAuth" / "serverAuth" / "" (purpose not enforced)
  int max_depth = 0;
  std::chrono::system_clock::time_point now;  ///< the verification time
};

/// The near-miss hint for a failed verification: concrete, naming the certificates involved
/// (the phrasings of the mTLS issue, section 4).
std::string explain_failure(const TrustStore& store, const HintInput& in);

}  // namespace portcullis::pki

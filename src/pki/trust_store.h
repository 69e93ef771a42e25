// TrustStore: the client-certificate trust configuration of one listener (trusted_ca,
// intermediates, CRLs), parsed and validated once, then shared read-only by every worker thread.
// Also owns the CA names the server advertises in its CertificateRequest.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace portcullis::pki {

/// Frees a name stack and every name in it.
inline void free_x509_name_stack(STACK_OF(X509_NAME) * stack) {
  sk_X509_NAME_pop_free(stack, X509_NAME_free);
}

/// An owned STACK_OF(X509_NAME) that owns its names (SSL_CTX_set_client_CA_list takes one).
using X509NameStackPtr =
    std::unique_ptr<STACK_OF(X509_NAME), OpenSslDeleter<STACK_OF(X509_NAME), free_x509_name_stack>>;

/// Every CRL of a PEM (or DER) file, in file order. Errors name the file: unreadable, no CRL,
/// a damaged block.
core::Result<std::vector<X509CrlPtr>> load_crls(const std::string& file);

/// load_crls() on text already in memory; `name` stands for the file in messages.
core::Result<std::vector<X509CrlPtr>> parse_crls(std::string_view data, const std::string& name);

/// The trust anchors, helper intermediates and CRLs of one listener's client_auth.
///
/// Immutable after load(): every method is const and safe to call from several threads at
/// once (verification builds its own X509_STORE_CTX per call; OpenSSL's per-certificate caches
/// are filled here, before the object is shared).
///
/// Only certificates with basicConstraints CA:TRUE become trust anchors. A leaf found in the
/// trusted_ca file is kept aside (never an anchor) so that verification can explain it.
class TrustStore {
 public:
  /// What from_certificates() builds a store from; the names stand for files in messages.
  struct Inputs {
    std::vector<X509Ptr> trusted;  ///< trusted_ca, file order
    std::string trusted_name = "trusted_ca";
    std::vector<X509Ptr> intermediates;  ///< untrusted helpers for chain building
    std::string intermediates_name = "intermediates";
    std::vector<X509CrlPtr> crls;
    std::string crl_name = "crl";
  };

  /// Which input an error is about: load() and from_certificates() set Error::where to
  /// input_name() ("trusted_ca", "intermediates" or "crl") so callers can name their own key.
  enum class Input { TrustedCa, Intermediates, Crl };
  static std::string_view input_name(Input input);

  /// Loads and validates the files. Errors name the file and the certificate (1-based index and
  /// subject): an unreadable or empty file, no CA certificate in trusted_ca, a certificate in
  /// intermediates that is not a CA, malformed extensions, a CRL whose signature does not
  /// verify with the CA that claims to issue it. `intermediates_file`/`crl_file` may be null.
  static core::Result<std::shared_ptr<const TrustStore>> load(const std::string& trusted_ca_file,
                                                              const std::string* intermediates_file,
                                                              const std::string* crl_file);

  /// load() on certificates and CRLs already parsed (the same checks and messages).
  static core::Result<std::shared_ptr<const TrustStore>> from_certificates(Inputs inputs);

  /// The anchors (the CAs of trusted_ca) and the CRLs, for X509_STORE_CTX_init. Never modify
  /// it: it is shared by every thread (OpenSSL locks its own lookups).
  X509_STORE* store() const { return store_.get(); }

  /// The CA certificates of trusted_ca (the anchors), in file order.
  const std::vector<X509Ptr>& trusted_cas() const { return trusted_cas_; }
  /// Certificates of trusted_ca that are not CAs: remembered, never trusted.
  const std::vector<X509Ptr>& trusted_leaves() const { return trusted_leaves_; }
  /// The certificates of the intermediates file (every one a CA).
  const std::vector<X509Ptr>& intermediates() const { return intermediates_; }
  const std::vector<X509CrlPtr>& crls() const { return crls_; }
  bool has_crls() const { return !crls_.empty(); }

  /// A fresh copy of the advertised CA names, for SSL_CTX_set_client_CA_list (which takes
  /// ownership: pass `.release()`). nullptr only when out of memory.
  X509NameStackPtr client_ca_list() const;
  /// The advertised CA names (subjects of the CAs of trusted_ca, deduplicated) as RFC 2253.
  const std::vector<std::string>& client_ca_names() const { return client_ca_names_; }

  /// Whether `name` equals, canonically (X509_NAME_cmp), the subject of a CA in trusted_ca or
  /// intermediates. O(log n), no allocation.
  bool is_ca_subject(const X509_NAME* name) const;
  /// RFC 2253 subjects of every CA in trusted_ca and intermediates (for near-miss hints).
  const std::vector<std::string>& ca_subject_strings() const { return ca_subject_strings_; }

  /// Whether `cert` is one of trusted_leaves() (same DER).
  bool is_trusted_leaf(const X509* cert) const;
  /// Every CA of trusted_ca and intermediates whose subject equals `name` (canonically).
  std::vector<X509*> cas_named(const X509_NAME* name) const;
  /// Whether `cert` is one of trusted_cas() (same DER).
  bool is_trusted_ca(const X509* cert) const;

  /// Non-fatal findings of the load, each naming the file and certificate (leaves ignored as
  /// anchors, an intermediate CA in trusted_ca without its root, expired CAs or CRLs, ...).
  const std::vector<std::string>& warnings() const { return warnings_; }

  const std::string& trusted_ca_name() const { return trusted_name_; }
  const std::string& intermediates_name() const { return intermediates_name_; }
  const std::string& crl_name() const { return crl_name_; }

  struct Passkey {
    explicit Passkey() = default;
  };
  explicit TrustStore(Passkey) {}

 private:
  static std::unexpected<core::Error> fail_in(Input input, std::string message);

  X509StorePtr store_;
  std::vector<X509Ptr> trusted_cas_;
  std::vector<X509Ptr> trusted_leaves_;
  std::vector<X509Ptr> intermediates_;
  std::vector<X509CrlPtr> crls_;
  X509NameStackPtr client_ca_list_;
  std::vector<std::string> client_ca_names_;
  std::vector<const X509_NAME*> ca_subjects_;  ///< sorted by X509_NAME_cmp; owned by the certs
  std::vector<std::string> ca_subject_strings_;
  std::vector<std::string> warnings_;
  std::string trusted_name_;
  std::string intermediates_name_;
  std::string crl_name_;
};

}  // namespace portcullis::pki

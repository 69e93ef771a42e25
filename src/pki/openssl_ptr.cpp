// The OpenSSL error-queue reader, small ownership helpers and the self-signed test declared in
// openssl_ptr.h. Errors are drained (not peeked) so a later failure never reports a stale reason.
#include "pki/openssl_ptr.h"

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/obj.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

namespace portcullis::pki {

namespace {

// OpenSSL 3's X509_check_akid against the certificate itself: each part of the authority key
// identifier that is present must name `cert` (a missing or unreadable extension names anyone).
bool akid_names_itself(X509* cert) {
  const ASN1_OCTET_STRING* key_id = X509_get0_authority_key_id(cert);
  const ASN1_OCTET_STRING* subject_key_id = X509_get0_subject_key_id(cert);
  if (key_id != nullptr && subject_key_id != nullptr &&
      ASN1_OCTET_STRING_cmp(key_id, subject_key_id) != 0) {
    return false;
  }
  const ASN1_INTEGER* serial = X509_get0_authority_serial(cert);
  if (serial != nullptr && ASN1_INTEGER_cmp(X509_get0_serialNumber(cert), serial) != 0) {
    return false;
  }
  // Only the first directory name counts, as in OpenSSL.
  if (const GENERAL_NAMES* names = X509_get0_authority_issuer(cert)) {
    for (std::size_t i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DIRNAME) continue;
      return X509_NAME_cmp(name->d.directoryName, X509_get_issuer_name(cert)) == 0;
    }
  }
  return true;
}

// OpenSSL 3's check_sig_alg_match: the TBS signature algorithm's key type is the key's own type
// (an RSA key may also sign with RSASSA-PSS, which BoringSSL maps to either key type).
bool signature_fits_key(const X509* cert, const EVP_PKEY* key) {
  const ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR_get0(&algorithm, nullptr, nullptr, X509_get0_tbs_sigalg(cert));
  const int signature_nid = OBJ_obj2nid(algorithm);
  const int key_type = EVP_PKEY_id(key);
  if (signature_nid == NID_rsassaPss) {
    return key_type == EVP_PKEY_RSA || key_type == EVP_PKEY_RSA_PSS;
  }
  int key_nid = NID_undef;
  if (OBJ_find_sigid_algs(signature_nid, nullptr, &key_nid) == 0) return false;
  return key_nid == key_type;
}

}  // namespace

X509StackPtr make_x509_stack(const std::vector<X509Ptr>& certs) {
  X509StackPtr stack(sk_X509_new_null());
  if (!stack) return nullptr;
  for (const auto& cert : certs) {
    if (!cert) continue;
    // The stack owns one reference per entry; a failed push leaves ours to drop.
    X509_up_ref(cert.get());
    if (sk_X509_push(stack.get(), cert.get()) == 0) {
      X509_free(cert.get());
      return nullptr;
    }
  }
  return stack;
}

std::string openssl_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (const std::uint32_t code = ERR_get_error_line_data(nullptr, nullptr, &data, &flags)) {
    if (!out.empty()) out += "; ";
    // AWS-LC's own rendering (ERR_error_string_n) names the function "OPENSSL_internal" and the
    // reason by its macro name; OpenSSL 3 wrote neither, and logs and tests read the words.
    const char* library = ERR_lib_error_string(code);
    const std::string reason = openssl_reason_text(code);
    out += fmt::format("error:{:08x}:{}:{}", code, library != nullptr ? library : "unknown library",
                       reason.empty() ? fmt::format("reason({})", ERR_GET_REASON(code)) : reason);
    if ((flags & ERR_FLAG_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

std::string openssl_reason_text(std::uint32_t code) {
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  if (reason == nullptr) return {};
  std::string text(reason);
  // AWS-LC names most reasons by their macro ("NO_START_LINE"); text with a lower-case letter
  // is already prose (the system library's strerror).
  if (std::none_of(text.begin(), text.end(), [](char c) { return std::islower(c) != 0; })) {
    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
      return c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
  }
  return text;
}

bool is_self_signed(X509* cert, bool check_signature) {
  if (cert == nullptr) return false;
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return false;
  if (X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) != 0) return false;
  if (!akid_names_itself(cert) || !signature_fits_key(cert, key)) return false;
  return !check_signature || X509_verify(cert, key) == 1;
}

}  // namespace portcullis::pki

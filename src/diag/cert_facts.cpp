// Certificate facts for the diagnostics: what pki::summarize() gives plus the signature and key
// details the bundle checks judge (weak hashes, small RSA keys, basicConstraints).
#include "diag/cert_facts.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pki/hints.h"

namespace portcullis::diag {
namespace {

struct BasicConstraintsFree {
  void operator()(BASIC_CONSTRAINTS* b) const noexcept { BASIC_CONSTRAINTS_free(b); }
};

bool is_weak_hash(int md_nid) {
  return md_nid == NID_md2 || md_nid == NID_md4 || md_nid == NID_md5 || md_nid == NID_sha1 ||
         md_nid == NID_md5_sha1;
}

}  // namespace

CertFacts cert_facts(X509* cert) {
  CertFacts f;
  if (cert == nullptr) return f;
  f.summary = pki::summarize(cert);
  ERR_set_mark();
  f.version = static_cast<int>(X509_get_version(cert)) + 1;

  const int sig_nid = X509_get_signature_nid(cert);
  if (sig_nid != NID_undef) {
    f.signature_algorithm = OBJ_nid2ln(sig_nid) != nullptr ? OBJ_nid2ln(sig_nid) : "";
    int md_nid = NID_undef;
    int pk_nid = NID_undef;
    if (OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) == 1 && md_nid != NID_undef) {
      f.signature_hash = OBJ_nid2sn(md_nid) != nullptr ? OBJ_nid2sn(md_nid) : "";
      f.weak_signature_hash = is_weak_hash(md_nid);
    }
  } else {
    const X509_ALGOR* alg = nullptr;
    X509_get0_signature(nullptr, &alg, cert);
    const ASN1_OBJECT* obj = nullptr;
    if (alg != nullptr) X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    f.signature_algorithm = pki::object_text(obj, false);
  }
  if (f.signature_algorithm == "RSASSA-PSS" || sig_nid == NID_rsassaPss) {
    // The hash of RSA-PSS is in the parameters; X509_get_signature_info decodes them.
    int md_nid = NID_undef;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) == 1 &&
        md_nid != NID_undef) {
      f.signature_hash = OBJ_nid2sn(md_nid) != nullptr ? OBJ_nid2sn(md_nid) : "";
      f.weak_signature_hash = is_weak_hash(md_nid);
    }
  }

  if (const EVP_PKEY* key = X509_get0_pubkey(cert); key != nullptr) {
    f.key_algorithm = key_algorithm_name(key);
    f.key_bits = EVP_PKEY_bits(key);
  }

  int crit = -1;
  std::unique_ptr<BASIC_CONSTRAINTS, BasicConstraintsFree> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, &crit, nullptr)));
  if (bc) {
    f.basic_constraints = true;
    f.basic_constraints_critical = crit == 1;
    if (bc->ca && bc->pathlen != nullptr) f.path_len = ASN1_INTEGER_get(bc->pathlen);
  }
  const std::uint32_t flags = X509_get_extension_flags(cert);
  f.key_usage_present = (flags & EXFLAG_KUSAGE) != 0;
  f.invalid_extensions = (flags & EXFLAG_INVALID) != 0;
  ERR_pop_to_mark();
  return f;
}

std::string key_algorithm_name(const EVP_PKEY* key) {
  if (key == nullptr) return {};
  // The names OpenSSL 3's EVP_PKEY_get0_type_name gave, which the reports and the RSA-size check
  // (bundle_checks.cpp) rely on; the OIDs' short names ("rsaEncryption") would change them.
  const int id = EVP_PKEY_id(key);
  switch (id) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_ED25519:
      return "ED25519";
    case EVP_PKEY_X25519:
      return "X25519";
    case EVP_PKEY_DSA:
      return "DSA";
    case EVP_PKEY_DH:
      return "DH";
    default: {
      const char* name = id != NID_undef ? OBJ_nid2sn(id) : nullptr;
      return name != nullptr ? name : "unknown";
    }
  }
}

std::string validity_phrase(const pki::CertSummary& s, std::chrono::system_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (now < s.valid_from) return pki::not_yet_valid_phrase(s.valid_from, now);
  if (now > s.valid_until) return pki::expired_phrase(s.valid_until, now);
  return fmt::format("expires in {}",
                     pki::human_duration(duration_cast<seconds>(s.valid_until - now)));
}

std::string role_of(const pki::CertSummary& s) {
  if (!s.is_ca) return s.self_signed ? "self-signed leaf" : "leaf";
  return s.self_signed ? "root CA" : "intermediate CA";
}

}  // namespace portcullis::diag

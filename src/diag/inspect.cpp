// Inspection of every object in a file. Requested extensions of a CSR are rendered through a
// scratch certificate so that they print exactly like issued ones (pki::summarize, with its
// escaping of untrusted strings).
#include "diag/inspect.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/x509v3.h>

#include "pki/hints.h"

namespace portcullis::diag {
namespace {

struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
struct AkiFree {
  void operator()(AUTHORITY_KEYID* a) const noexcept { AUTHORITY_KEYID_free(a); }
};
struct Asn1IntegerFree {
  void operator()(ASN1_INTEGER* i) const noexcept { ASN1_INTEGER_free(i); }
};
struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct OpenSslFree {
  void operator()(char* p) const noexcept { OPENSSL_free(p); }
};

/// "EC P-256", "RSA 2048", "ED25519" (the form pki::CertSummary::key_type uses).
std::string key_type_text(const EVP_PKEY* key) {
  if (key == nullptr) return {};
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      const EC_GROUP* group = ec != nullptr ? EC_KEY_get0_group(ec) : nullptr;
      const int nid = group != nullptr ? EC_GROUP_get_curve_name(group) : NID_undef;
      if (nid == NID_undef) return "EC";
      // The NIST name where there is one, else OpenSSL's short name ("secp256k1").
      const char* nist = EC_curve_nid2nist(nid);
      const char* name = nist != nullptr ? nist : OBJ_nid2sn(nid);
      return name != nullptr ? fmt::format("EC {}", name) : "EC";
    }
    case EVP_PKEY_RSA:
      return fmt::format("RSA {}", EVP_PKEY_bits(key));
    case EVP_PKEY_RSA_PSS:
      return fmt::format("RSA-PSS {}", EVP_PKEY_bits(key));
    case EVP_PKEY_DSA:
      return fmt::format("DSA {}", EVP_PKEY_bits(key));
    default:
      return key_algorithm_name(key);
  }
}

std::string time_text(const ASN1_TIME* t) {
  const auto p = t != nullptr ? pki::asn1_time_point(t) : std::nullopt;
  return p ? pki::rfc3339(*p) : std::string();
}

std::string signature_name(int nid) {
  if (nid == NID_undef) return {};
  const char* ln = OBJ_nid2ln(nid);
  return ln != nullptr ? ln : std::string();
}

CsrFacts csr_facts(X509_REQ* req) {
  CsrFacts f;
  ERR_set_mark();
  f.subject = pki::name_text(X509_REQ_get_subject_name(req));
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  f.key_type = key_type_text(key);
  f.signature_algorithm = signature_name(X509_REQ_get_signature_nid(req));
  f.signature_valid = key != nullptr && X509_REQ_verify(req, key) == 1;
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree> exts(X509_REQ_get_extensions(req));
  if (exts && sk_X509_EXTENSION_num(exts.get()) > 0) {
    pki::X509Ptr scratch(X509_new());
    if (scratch) {
      for (std::size_t i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
        X509_add_ext(scratch.get(), sk_X509_EXTENSION_value(exts.get(), i), -1);
      }
      const pki::CertSummary s = pki::summarize(scratch.get());
      f.sans = s.sans;
      f.extended_key_usage = s.extended_key_usage;
      f.key_usage = s.key_usage;
    }
  }
  ERR_pop_to_mark();
  return f;
}

CrlFacts crl_facts(X509_CRL* crl, std::chrono::system_clock::time_point at) {
  CrlFacts f;
  ERR_set_mark();
  f.issuer = pki::name_text(X509_CRL_get_issuer(crl));
  f.last_update = time_text(X509_CRL_get0_lastUpdate(crl));
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  f.next_update = time_text(next);
  if (const auto np = next != nullptr ? pki::asn1_time_point(next) : std::nullopt; np) {
    if (at > *np) {
      f.expired = true;
      f.status = pki::expired_phrase(*np, at) + " (nextUpdate)";
    } else {
      f.status = fmt::format(
          "current (next update in {})",
          pki::human_duration(std::chrono::duration_cast<std::chrono::seconds>(*np - at)));
    }
  } else {
    f.status = "no nextUpdate";
  }
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  f.revoked = revoked != nullptr ? static_cast<std::size_t>(sk_X509_REVOKED_num(revoked)) : 0;
  if (std::unique_ptr<ASN1_INTEGER, Asn1IntegerFree> number(
          static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
      number) {
    std::unique_ptr<BIGNUM, BnFree> bn(ASN1_INTEGER_to_BN(number.get(), nullptr));
    if (bn) {
      std::unique_ptr<char, OpenSslFree> hex(BN_bn2hex(bn.get()));
      if (hex) f.crl_number = hex.get();
    }
  }
  f.signature_algorithm = signature_name(X509_CRL_get_signature_nid(crl));
  if (std::unique_ptr<AUTHORITY_KEYID, AkiFree> aki(static_cast<AUTHORITY_KEYID*>(
          X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, nullptr, nullptr)));
      aki) {
    f.authority_key_id = pki::key_id_text(aki->keyid);
  }
  ERR_pop_to_mark();
  return f;
}

}  // namespace

InspectReport inspect_contents(const FileContents& contents,
                               std::chrono::system_clock::time_point at) {
  InspectReport r;
  r.file = contents.name;
  r.format = contents.format;
  r.size = contents.size;
  r.at = at;
  r.used_password = contents.used_password;
  r.problems = contents.problems;

  std::vector<X509*> certs;
  for (const Item& item : contents.items) {
    if (item.kind == ItemKind::Certificate) certs.push_back(item.cert.get());
  }
  std::size_t cert_number = 0;
  for (const Item& item : contents.items) {
    InspectEntry e;
    e.kind = item.kind;
    e.label = item.label;
    e.line = item.line;
    e.container = item.container;
    switch (item.kind) {
      case ItemKind::Certificate:
        e.cert_number = ++cert_number;
        e.cert = cert_facts(item.cert.get());
        break;
      case ItemKind::PrivateKey:
      case ItemKind::PublicKey: {
        KeyFacts k;
        k.is_private = item.kind == ItemKind::PrivateKey;
        k.encrypted = item.encrypted;
        k.type = key_type_text(item.key.get());
        if (item.key) {
          for (std::size_t i = 0; i < certs.size(); ++i) {
            if (pki::key_matches_certificate(item.key.get(), certs[i])) {
              k.matches_certificates.push_back(i + 1);
            }
          }
        }
        e.key = std::move(k);
        break;
      }
      case ItemKind::CertificateRequest:
        if (item.csr) e.csr = csr_facts(item.csr.get());
        break;
      case ItemKind::Crl:
        if (item.crl) {
          CrlFacts c = crl_facts(item.crl.get(), at);
          for (std::size_t i = 0; i < certs.size() && c.signed_by_certificate == 0; ++i) {
            if (X509_NAME_cmp(X509_get_subject_name(certs[i]),
                              X509_CRL_get_issuer(item.crl.get())) != 0) {
              continue;
            }
            EVP_PKEY* key = X509_get0_pubkey(certs[i]);
            if (key != nullptr && X509_CRL_verify(item.crl.get(), key) == 1) {
              c.signed_by_certificate = i + 1;
            }
          }
          ERR_clear_error();
          e.crl = std::move(c);
        }
        break;
      case ItemKind::Other:
        break;
    }
    r.entries.push_back(std::move(e));
  }
  if (!certs.empty()) r.chains = chains_of(certs, link_certificates(certs));
  return r;
}

core::Result<InspectReport> inspect_file(const std::string& path, const ReadOptions& read,
                                         std::optional<std::chrono::system_clock::time_point> at) {
  auto contents = read_contents(path, read);
  if (!contents) return std::unexpected(std::move(contents.error()));
  return inspect_contents(*contents, at.value_or(std::chrono::system_clock::now()));
}

}  // namespace portcullis::diag

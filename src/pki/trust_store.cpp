// Loading and validating a listener's trust configuration into an immutable TrustStore.
// Everything OpenSSL computes lazily on a certificate (extension flags, hashes, canonical names)
// is computed here, before the store is shared, so verification threads only ever read.
#include "pki/trust_store.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <utility>

#include "pki/cert_files.h"
#include "pki/hints.h"

namespace portcullis::pki {
namespace {

using core::fail;
using core::Result;

/// CRLs of a large CA can be big, but not this big.
constexpr std::size_t kMaxCrlFileBytes = 64u * 1024u * 1024u;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

Result<std::string> read_file(const std::string& file, std::size_t limit) {
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  const auto error_text = [](int err) {
    return std::error_code(err, std::generic_category()).message();
  };
  if (!f) return fail(fmt::format("cannot read \"{}\": {}", file, error_text(errno)));
  std::string data;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    data.append(buf, n);
    if (data.size() > limit) {
      return fail(fmt::format("cannot read \"{}\": larger than {} MiB", file, limit >> 20));
    }
    if (n < sizeof buf) {
      if (std::ferror(f.get()) != 0) {
        return fail(fmt::format("cannot read \"{}\": {}", file, error_text(errno)));
      }
      break;
    }
  }
  return data;
}

/// "certificate 2 (CN=Foo)".
std::string cert_label(std::size_t index, X509* cert) {
  return fmt::format("certificate {} ({})", index + 1, subject_text(cert));
}

std::string crl_label(std::size_t index, X509_CRL* crl) {
  return fmt::format("CRL {} (issuer {})", index + 1, name_text(X509_CRL_get_issuer(crl)));
}

/// Why `cert` is not a CA, for messages: "basicConstraints CA:FALSE" or "no basicConstraints".
std::string not_ca_reason(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_BCONS) != 0 ? "basicConstraints CA:FALSE"
                                                              : "no basicConstraints extension";
}

bool is_ca(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

bool has_invalid_extensions(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_INVALID) != 0;
}

/// Fills OpenSSL's lazily computed caches of `cert` (extension flags, SHA-1 hash, canonical
/// name encodings) so that concurrent readers never trigger a write.
void warm_caches(X509* cert) {
  X509_check_purpose(cert, -1, 0);
  (void)i2d_X509_NAME(X509_get_subject_name(cert), nullptr);
  (void)i2d_X509_NAME(X509_get_issuer_name(cert), nullptr);
  ERR_clear_error();
}

/// Validity findings of a CA at load time ("" when currently valid).
std::string validity_warning(X509* cert) {
  const auto now = std::chrono::system_clock::now();
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    if (auto t = asn1_time_point(X509_get0_notAfter(cert))) return expired_phrase(*t, now);
    return "has expired";
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    if (auto t = asn1_time_point(X509_get0_notBefore(cert))) return not_yet_valid_phrase(*t, now);
    return "is not yet valid";
  }
  return {};
}

bool is_pem(std::string_view data) {
  return data.find("-----BEGIN") != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::vector<X509CrlPtr>> parse_crls(std::string_view data, const std::string& name) {
  std::vector<X509CrlPtr> crls;
  if (data.find_first_not_of(" \t\r\n\f") == std::string_view::npos) {
    return fail(fmt::format("\"{}\": no CRL found (the file is empty)", name));
  }
  if (data.size() > static_cast<std::size_t>(INT32_MAX)) {
    return fail(fmt::format("\"{}\": too large", name));
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return fail(fmt::format("\"{}\": out of memory", name));
  if (is_pem(data)) {
    for (;;) {
      ERR_set_mark();
      X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
      if (crl == nullptr) {
        const unsigned long err = ERR_peek_last_error();
        const bool at_end =
            ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
        const std::string reason = openssl_reason_text(err);
        ERR_pop_to_mark();
        if (at_end) break;
        return fail(fmt::format("\"{}\": CRL {} is damaged{}", name, crls.size() + 1,
                                reason.empty() ? "" : ": " + reason));
      }
      ERR_pop_to_mark();
      crls.emplace_back(crl);
    }
    if (crls.empty()) {
      return fail(
          fmt::format("\"{}\": no CRL found (no \"-----BEGIN X509 CRL-----\" block)", name));
    }
    return crls;
  }
  X509_CRL* crl = d2i_X509_CRL_bio(bio.get(), nullptr);
  ERR_clear_error();
  if (crl == nullptr) {
    return fail(fmt::format("\"{}\": no CRL found (neither PEM nor a DER CRL)", name));
  }
  crls.emplace_back(crl);
  return crls;
}

Result<std::vector<X509CrlPtr>> load_crls(const std::string& file) {
  auto data = read_file(file, kMaxCrlFileBytes);
  if (!data) return std::unexpected(std::move(data.error()));
  return parse_crls(*data, file);
}

std::string_view TrustStore::input_name(Input input) {
  switch (input) {
    case Input::TrustedCa:
      return "trusted_ca";
    case Input::Intermediates:
      return "intermediates";
    case Input::Crl:
      return "crl";
  }
  return "trusted_ca";
}

std::unexpected<core::Error> TrustStore::fail_in(Input input, std::string message) {
  return std::unexpected(core::Error{std::move(message), std::string(input_name(input)), 0});
}

Result<std::shared_ptr<const TrustStore>> TrustStore::load(const std::string& trusted_ca_file,
                                                           const std::string* intermediates_file,
                                                           const std::string* crl_file) {
  Inputs inputs;
  inputs.trusted_name = trusted_ca_file;
  auto trusted = load_certificates(trusted_ca_file);
  if (!trusted) return fail_in(Input::TrustedCa, std::move(trusted.error().message));
  inputs.trusted = std::move(*trusted);
  if (intermediates_file != nullptr) {
    inputs.intermediates_name = *intermediates_file;
    auto intermediates = load_certificates(*intermediates_file);
    if (!intermediates)
      return fail_in(Input::Intermediates, std::move(intermediates.error().message));
    inputs.intermediates = std::move(*intermediates);
  }
  if (crl_file != nullptr) {
    inputs.crl_name = *crl_file;
    auto crls = load_crls(*crl_file);
    if (!crls) return fail_in(Input::Crl, std::move(crls.error().message));
    inputs.crls = std::move(*crls);
  }
  return from_certificates(std::move(inputs));
}

Result<std::shared_ptr<const TrustStore>> TrustStore::from_certificates(Inputs in) {
  auto ts = std::make_shared<TrustStore>(Passkey{});
  ts->trusted_name_ = std::move(in.trusted_name);
  ts->intermediates_name_ = std::move(in.intermediates_name);
  ts->crl_name_ = std::move(in.crl_name);
  const std::string& tname = ts->trusted_name_;
  const std::string& iname = ts->intermediates_name_;

  ts->store_.reset(X509_STORE_new());
  if (!ts->store_) return fail("out of memory");

  // SECURITY: an empty trust bundle would make every client fail (or, with a careless caller,
  // pass); refuse to build a store without an anchor.
  if (in.trusted.empty())
    return fail_in(Input::TrustedCa, fmt::format("\"{}\": no certificate found", tname));

  std::vector<std::string> not_ca;
  for (std::size_t i = 0; i < in.trusted.size(); ++i) {
    X509Ptr& cert = in.trusted[i];
    if (!cert) continue;
    warm_caches(cert.get());
    if (has_invalid_extensions(cert.get())) {
      // SECURITY: OpenSSL would reject it at every verification anyway; say so at load.
      return fail_in(Input::TrustedCa,
                     fmt::format("\"{}\": {} has malformed or duplicate extensions", tname,
                                 cert_label(i, cert.get())));
    }
    if (!is_ca(cert.get())) {
      // SECURITY: only CAs become anchors. A leaf here is remembered (to explain it when it is
      // presented) but never added to the X509_STORE, so it can authenticate nothing.
      std::string finding =
          fmt::format("{} is not a CA ({})", cert_label(i, cert.get()), not_ca_reason(cert.get()));
      ts->warnings_.push_back(fmt::format("\"{}\": {}: ignored as a trust anchor", tname, finding));
      not_ca.push_back(std::move(finding));
      ts->trusted_leaves_.push_back(std::move(cert));
      continue;
    }
    if (X509_STORE_add_cert(ts->store_.get(), cert.get()) != 1) {
      return fail_in(Input::TrustedCa,
                     fmt::format("\"{}\": cannot add {} to the trust store: {}", tname,
                                 cert_label(i, cert.get()), openssl_errors()));
    }
    if (std::string w = validity_warning(cert.get()); !w.empty()) {
      ts->warnings_.push_back(fmt::format("\"{}\": {} {}", tname, cert_label(i, cert.get()), w));
    }
    ts->trusted_cas_.push_back(std::move(cert));
  }
  if (ts->trusted_cas_.empty()) {
    return fail_in(
        Input::TrustedCa,
        fmt::format(
            "\"{}\": no CA certificate (basicConstraints CA:TRUE): {}; trusted_ca must hold the CA "
            "certificates that issue the client certificates",
            tname, fmt::join(not_ca, "; ")));
  }

  // A CA of trusted_ca that is not self-signed only anchors chains when its own issuer is
  // there too (no partial chains, see verify.cpp).
  for (const X509Ptr& ca : ts->trusted_cas_) {
    if (is_self_signed(ca.get(), false)) continue;
    const bool issuer_present =
        std::any_of(ts->trusted_cas_.begin(), ts->trusted_cas_.end(), [&](const X509Ptr& other) {
          return X509_check_issued(other.get(), ca.get()) == X509_V_OK;
        });
    if (!issuer_present) {
      ts->warnings_.push_back(fmt::format(
          "\"{}\": {} is an intermediate CA and its issuer {} is not in the file: chains ending "
          "at it are rejected; add the root CA",
          tname, subject_text(ca.get()), issuer_text(ca.get())));
    }
  }
  ERR_clear_error();

  for (std::size_t i = 0; i < in.intermediates.size(); ++i) {
    X509Ptr& cert = in.intermediates[i];
    if (!cert) continue;
    warm_caches(cert.get());
    if (has_invalid_extensions(cert.get())) {
      return fail_in(Input::Intermediates,
                     fmt::format("\"{}\": {} has malformed or duplicate extensions", iname,
                                 cert_label(i, cert.get())));
    }
    if (!is_ca(cert.get())) {
      // SECURITY: a leaf in the intermediates file is a configuration mistake; refuse it rather
      // than guess what was meant.
      return fail_in(Input::Intermediates,
                     fmt::format("\"{}\": {} is not a CA ({}); intermediates must hold CA "
                                 "certificates only",
                                 iname, cert_label(i, cert.get()), not_ca_reason(cert.get())));
    }
    if (is_self_signed(cert.get(), false)) {
      ts->warnings_.push_back(fmt::format(
          "\"{}\": {} is a self-signed root: roots in intermediates are not trusted; move it to "
          "trusted_ca if it should be",
          iname, cert_label(i, cert.get())));
    }
    if (std::string w = validity_warning(cert.get()); !w.empty()) {
      ts->warnings_.push_back(fmt::format("\"{}\": {} {}", iname, cert_label(i, cert.get()), w));
    }
    ts->intermediates_.push_back(std::move(cert));
  }
  ERR_clear_error();

  for (std::size_t i = 0; i < in.crls.size(); ++i) {
    X509CrlPtr& crl = in.crls[i];
    if (!crl) continue;
    const std::vector<X509*> issuers = ts->cas_named(X509_CRL_get_issuer(crl.get()));
    if (issuers.empty()) {
      ts->warnings_.push_back(fmt::format(
          "\"{}\": {} was not issued by a CA of trusted_ca or intermediates: it only applies to "
          "intermediates that clients send",
          ts->crl_name_, crl_label(i, crl.get())));
    } else {
      const bool verified = std::any_of(issuers.begin(), issuers.end(), [&](X509* ca) {
        EVP_PKEY* key = X509_get0_pubkey(ca);
        return key != nullptr && X509_CRL_verify(crl.get(), key) == 1;
      });
      ERR_clear_error();
      if (!verified) {
        // SECURITY: a CRL that does not verify would fail every verification it applies to;
        // refuse to start instead of rejecting every client later.
        return fail_in(
            Input::Crl,
            fmt::format("\"{}\": the signature of {} does not verify with the key of {}",
                        ts->crl_name_, crl_label(i, crl.get()), subject_text(issuers.front())));
      }
    }
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
        next != nullptr && X509_cmp_current_time(next) < 0) {
      const auto t = asn1_time_point(next);
      ts->warnings_.push_back(fmt::format(
          "\"{}\": {} {} (nextUpdate): revocation cannot be checked, so every certificate it "
          "covers will be rejected until it is refreshed",
          ts->crl_name_, crl_label(i, crl.get()),
          t ? expired_phrase(*t, std::chrono::system_clock::now()) : "has expired"));
    }
    if (X509_STORE_add_crl(ts->store_.get(), crl.get()) != 1) {
      return fail_in(Input::Crl,
                     fmt::format("\"{}\": cannot add {} to the trust store: {}", ts->crl_name_,
                                 crl_label(i, crl.get()), openssl_errors()));
    }
    ts->crls_.push_back(std::move(crl));
  }

  // Advertised CA names: the subjects of trusted_ca's CAs, once each (as nginx advertises
  // ssl_client_certificate, and not ssl_trusted_certificate).
  ts->client_ca_list_.reset(sk_X509_NAME_new_null());
  if (!ts->client_ca_list_) return fail("out of memory");
  for (const X509Ptr& ca : ts->trusted_cas_) {
    X509_NAME* subject = X509_get_subject_name(ca.get());  // X509_NAME_dup takes it non-const
    bool duplicate = false;
    for (std::size_t j = 0; j < sk_X509_NAME_num(ts->client_ca_list_.get()); ++j) {
      duplicate |= X509_NAME_cmp(sk_X509_NAME_value(ts->client_ca_list_.get(), j), subject) == 0;
    }
    if (duplicate) continue;
    X509NamePtr copy(X509_NAME_dup(subject));
    if (!copy || sk_X509_NAME_push(ts->client_ca_list_.get(), copy.get()) == 0) {
      return fail("out of memory");
    }
    copy.release();  // owned by the stack now
    ts->client_ca_names_.push_back(name_text(subject));
  }

  // Canonical subjects for verify_issuer_dn, sorted for binary search.
  for (const auto* group : {&ts->trusted_cas_, &ts->intermediates_}) {
    for (const X509Ptr& ca : *group) {
      ts->ca_subjects_.push_back(X509_get_subject_name(ca.get()));
      ts->ca_subject_strings_.push_back(subject_text(ca.get()));
    }
  }
  std::sort(ts->ca_subjects_.begin(), ts->ca_subjects_.end(),
            [](const X509_NAME* a, const X509_NAME* b) { return X509_NAME_cmp(a, b) < 0; });
  ts->ca_subjects_.erase(
      std::unique(ts->ca_subjects_.begin(), ts->ca_subjects_.end(),
                  [](const X509_NAME* a, const X509_NAME* b) { return X509_NAME_cmp(a, b) == 0; }),
      ts->ca_subjects_.end());
  std::sort(ts->ca_subject_strings_.begin(), ts->ca_subject_strings_.end());
  ts->ca_subject_strings_.erase(
      std::unique(ts->ca_subject_strings_.begin(), ts->ca_subject_strings_.end()),
      ts->ca_subject_strings_.end());
  ERR_clear_error();
  return std::shared_ptr<const TrustStore>(std::move(ts));
}

X509NameStackPtr TrustStore::client_ca_list() const {
  return X509NameStackPtr(SSL_dup_CA_list(client_ca_list_.get()));
}

bool TrustStore::is_ca_subject(const X509_NAME* name) const {
  if (name == nullptr) return false;
  const auto it = std::lower_bound(
      ca_subjects_.begin(), ca_subjects_.end(), name,
      [](const X509_NAME* a, const X509_NAME* b) { return X509_NAME_cmp(a, b) < 0; });
  return it != ca_subjects_.end() && X509_NAME_cmp(*it, name) == 0;
}

bool TrustStore::is_trusted_leaf(const X509* cert) const {
  if (cert == nullptr) return false;
  return std::any_of(trusted_leaves_.begin(), trusted_leaves_.end(),
                     [&](const X509Ptr& leaf) { return X509_cmp(leaf.get(), cert) == 0; });
}

bool TrustStore::is_trusted_ca(const X509* cert) const {
  if (cert == nullptr) return false;
  return std::any_of(trusted_cas_.begin(), trusted_cas_.end(),
                     [&](const X509Ptr& ca) { return X509_cmp(ca.get(), cert) == 0; });
}

std::vector<X509*> TrustStore::cas_named(const X509_NAME* name) const {
  std::vector<X509*> out;
  if (name == nullptr) return out;
  for (const auto* group : {&trusted_cas_, &intermediates_}) {
    for (const X509Ptr& ca : *group) {
      if (X509_NAME_cmp(X509_get_subject_name(ca.get()), name) == 0) out.push_back(ca.get());
    }
  }
  return out;
}

}  // namespace portcullis::pki

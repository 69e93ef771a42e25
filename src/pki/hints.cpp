// Near-miss hint texts and their formatting helpers. Only called on failure paths (and for
// load-time messages), so clarity wins over allocation counts here.
#include "pki/hints.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <ctime>

#include "pki/openssl_ptr.h"
#include "pki/trust_store.h"

namespace portcullis::pki {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

struct EkuFree {
  void operator()(EXTENDED_KEY_USAGE* e) const noexcept { EXTENDED_KEY_USAGE_free(e); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// RDNs of an RFC 2253 string, split at unescaped ',' (lower-cased, surrounding spaces trimmed).
std::vector<std::string> split_rdns(std::string_view dn) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    const char c = dn[i];
    if (c == '\\' && i + 1 < dn.size()) {
      cur.push_back(c);
      cur.push_back(dn[++i]);
      continue;
    }
    if (c == ',') {
      out.push_back(lower(cur));
      cur.clear();
      continue;
    }
    if (c == ' ' && cur.empty()) continue;
    cur.push_back(c);
  }
  if (!cur.empty() || !dn.empty()) out.push_back(lower(cur));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string object_name(const ASN1_OBJECT* obj) {
  std::string name = object_text(obj, /*prefer_short_name=*/true);
  return name.empty() ? "?" : name;
}

}  // namespace

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  // XN_FLAG_RFC2253 escapes control characters and bytes >= 0x80 (ASN1_STRFLGS_ESC_*), so the
  // text is always one printable line.
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 && data != nullptr ? std::string(data, static_cast<std::size_t>(len))
                                    : std::string();
}

std::string subject_text(const X509* cert) {
  return cert != nullptr ? name_text(X509_get_subject_name(cert)) : std::string();
}

std::string issuer_text(const X509* cert) {
  return cert != nullptr ? name_text(X509_get_issuer_name(cert)) : std::string();
}

std::string rfc3339(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "?";
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string human_duration(seconds d) {
  const double s = std::fabs(static_cast<double>(d.count()));
  const auto rounded = [](double v) { return static_cast<long long>(std::llround(v)); };
  if (s < 120) return fmt::format("{} s", rounded(s));
  if (s < 120 * 60) return fmt::format("{} min", rounded(s / 60));
  if (s < 48 * 3600) return fmt::format("{} h", rounded(s / 3600));
  const long long days = rounded(s / 86400);
  return fmt::format("{} {}", days, days == 1 ? "day" : "days");
}

std::string expired_phrase(system_clock::time_point not_after, system_clock::time_point now) {
  return fmt::format("expired {} ago at {}",
                     human_duration(std::chrono::duration_cast<seconds>(now - not_after)),
                     rfc3339(not_after));
}

std::string not_yet_valid_phrase(system_clock::time_point not_before,
                                 system_clock::time_point now) {
  return fmt::format("not valid until {} (in {})", rfc3339(not_before),
                     human_duration(std::chrono::duration_cast<seconds>(not_before - now)));
}

std::string eku_phrase(X509* cert, std::string_view wanted) {
  if (cert == nullptr) return {};
  ERR_set_mark();
  int crit = 0;
  std::unique_ptr<EXTENDED_KEY_USAGE, EkuFree> eku(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
  ERR_pop_to_mark();
  if (!eku) return {};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    names.push_back(object_name(sk_ASN1_OBJECT_value(eku.get(), i)));
  }
  if (std::find(names.begin(), names.end(), wanted) != names.end()) return {};
  if (names.empty()) return fmt::format("EKU is empty (no {})", wanted);
  if (names.size() == 1) return fmt::format("EKU has {} only", names.front());
  return fmt::format("EKU has {} but not {}", fmt::join(names, ", "), wanted);
}

std::vector<std::string> key_usage_names(X509* cert) {
  std::vector<std::string> out;
  if (cert == nullptr || (X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) return out;
  const std::uint32_t ku = X509_get_key_usage(cert);
  static constexpr std::pair<std::uint32_t, const char*> kBits[] = {
      {KU_DIGITAL_SIGNATURE, "digitalSignature"},
      {KU_NON_REPUDIATION, "nonRepudiation"},
      {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
      {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
      {KU_KEY_AGREEMENT, "keyAgreement"},
      {KU_KEY_CERT_SIGN, "keyCertSign"},
      {KU_CRL_SIGN, "cRLSign"},
      {KU_ENCIPHER_ONLY, "encipherOnly"},
      {KU_DECIPHER_ONLY, "decipherOnly"}};
  for (const auto& [bit, label] : kBits) {
    if ((ku & bit) != 0) out.emplace_back(label);
  }
  return out;
}

std::optional<std::string> closest_dn(std::string_view dn,
                                      const std::vector<std::string>& candidates) {
  if (candidates.empty()) return std::nullopt;
  const std::vector<std::string> want = split_rdns(dn);
  const std::string want_lower = lower(dn);
  const std::string* best = nullptr;
  std::size_t best_common = 0;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::vector<std::string> have = split_rdns(candidate);
    std::size_t common = 0;
    for (const std::string& rdn : want) {
      if (std::find(have.begin(), have.end(), rdn) != have.end()) ++common;
    }
    const std::size_t distance = edit_distance(want_lower, lower(candidate));
    if (best == nullptr || common > best_common ||
        (common == best_common && distance < best_distance)) {
      best = &candidate;
      best_common = common;
      best_distance = distance;
    }
  }
  return *best;
}

std::string issuer_dn_hint(std::string_view issuer_dn,
                           const std::vector<std::string>& ca_subjects) {
  const std::optional<std::string> closest = closest_dn(issuer_dn, ca_subjects);
  if (!closest) {
    return fmt::format("issuer DN '{}' differs from every configured CA subject (none configured)",
                       issuer_dn);
  }
  return fmt::format("issuer DN '{}' differs from every configured CA subject; closest: '{}'",
                     issuer_dn, *closest);
}

std::string missing_intermediate_hint(std::string_view issuer_dn,
                                      std::string_view authority_key_id) {
  std::string hint = fmt::format(
      "the client did not send intermediate {} and it is not in trusted_ca or intermediates: "
      "have the client send its full chain or add {} to intermediates",
      issuer_dn, issuer_dn);
  if (!authority_key_id.empty()) {
    hint += fmt::format(" (its subject key id is {})", authority_key_id);
  }
  hint += fmt::format("; if {} is a root CA, add it to trusted_ca instead", issuer_dn);
  return hint;
}

std::string advertised_names_hint(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) {
    if (!list.empty()) list += ", ";
    list += '\'';
    list += name;
    list += '\'';
  }
  return fmt::format(
      "the server advertised these CA names: {}; clients only offer certificates issued by one "
      "of them",
      list.empty() ? std::string("(none)") : list);
}

std::string key_id_text(const ASN1_OCTET_STRING* id) {
  if (id == nullptr) return {};
  static constexpr char kDigits[] = "0123456789ABCDEF";
  const unsigned char* data = ASN1_STRING_get0_data(id);
  const int len = ASN1_STRING_length(id);
  std::string out;
  out.reserve(static_cast<std::size_t>(std::max(len, 0)) * 3);
  for (int i = 0; i < len; ++i) {
    if (i > 0) out.push_back(':');
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// explain_failure

namespace {

using core::DenialCode;

/// Within this much of a validity boundary a wrong clock is as likely as a wrong certificate.
constexpr std::chrono::minutes kClockSkewWindow{5};

std::string sha256_text(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kDigits[md[i] >> 4]);
    out.push_back(kDigits[md[i] & 0x0f]);
  }
  return out;
}

std::string serial_text(X509* cert) {
  // Upper-case hex of the magnitude, as CertSummary::serial prints it.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  if (serial == nullptr) return {};
  static constexpr char kDigits[] = "0123456789ABCDEF";
  const unsigned char* data = ASN1_STRING_get0_data(serial);
  std::string out;
  for (int i = 0; i < ASN1_STRING_length(serial); ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

/// "the client certificate CN=x" / "intermediate CA CN=y (depth 1)" / "CA CN=r of trusted_ca".
std::string role_of(const TrustStore& store, X509* cert, int depth) {
  if (depth == 0) return fmt::format("the client certificate {}", subject_text(cert));
  if (store.is_trusted_ca(cert)) {
    return fmt::format("CA {} of trusted_ca (depth {})", subject_text(cert), depth);
  }
  return fmt::format("intermediate CA {} (depth {})", subject_text(cert), depth);
}

X509* cert_at(const HintInput& in, int depth) {
  if (depth >= 0 && static_cast<std::size_t>(depth) < in.chain.size()) return in.chain[depth];
  return nullptr;
}

bool near_now(std::chrono::system_clock::time_point t, std::chrono::system_clock::time_point now) {
  const auto d = t > now ? t - now : now - t;
  return d <= kClockSkewWindow;
}

/// "; trusted_ca also holds a different certificate with that name (sha256 ...)".
std::string same_name_note(const TrustStore& store, X509* cert) {
  for (X509* ca : store.cas_named(X509_get_subject_name(cert))) {
    if (X509_cmp(ca, cert) == 0) continue;
    return fmt::format(
        "; note: a different certificate with the same name is configured (sha256 {}, key id {}): "
        "the client's CA was re-keyed or is another CA with that name",
        sha256_text(ca), key_id_text(X509_get0_subject_key_id(ca)));
  }
  return {};
}

std::string explain_untrusted(const TrustStore& store, const HintInput& in) {
  X509* top = in.chain.empty() ? in.leaf : in.chain.back();
  if (in.openssl_error == X509_V_ERR_CERT_UNTRUSTED ||
      in.openssl_error == X509_V_ERR_CERT_REJECTED) {
    return fmt::format(
        "the trust anchor {} is marked as not trusted for this purpose by the trust settings "
        "of the bundle (a \"TRUSTED CERTIFICATE\" block): use a plain \"CERTIFICATE\" block",
        subject_text(in.cert != nullptr ? in.cert : top));
  }
  if (top != nullptr && top != in.leaf && store.is_trusted_leaf(top)) {
    return fmt::format(
        "the chain ends at {}, which is in trusted_ca but is not a CA: a leaf in the CA bundle is "
        "not a trust anchor for others; put the CA that issues the client certificates in "
        "trusted_ca",
        subject_text(top));
  }
  if (top != nullptr && is_self_signed(top, false)) {
    return fmt::format(
        "the chain ends at root {} (sha256 {}), which is not in trusted_ca: add it to trusted_ca "
        "if you trust it, or issue the client a certificate from a CA in trusted_ca{}",
        subject_text(top), sha256_text(top), same_name_note(store, top));
  }
  if (in.top_trusted) {
    return fmt::format(
        "the chain reaches {}, which is in trusted_ca but is not a root, and its issuer {} is "
        "not in trusted_ca: Portcullis, like nginx, only accepts chains that end at a root of "
        "trusted_ca; add the root CA {} to trusted_ca",
        subject_text(top), issuer_text(top), issuer_text(top));
  }
  // The missing issuer is one of trusted_ca's leaves.
  for (const X509Ptr& leaf : store.trusted_leaves()) {
    if (X509_NAME_cmp(X509_get_subject_name(leaf.get()), X509_get_issuer_name(top)) != 0) continue;
    return fmt::format(
        "the issuer {} of {} is in trusted_ca but is not a CA ({}): a leaf in the CA bundle is "
        "not a trust anchor for others; put the CA that issues the client certificates in "
        "trusted_ca",
        issuer_text(top), subject_text(top),
        (X509_get_extension_flags(leaf.get()) & EXFLAG_BCONS) != 0
            ? "basicConstraints CA:FALSE"
            : "no basicConstraints extension");
  }
  return fmt::format("the chain ends at {}, whose issuer {} is not in trusted_ca",
                     subject_text(top), issuer_text(top));
}

std::string explain_incomplete(const TrustStore& store, const HintInput& in) {
  X509* top = in.chain.empty() ? in.leaf : in.chain.back();
  const std::string issuer = issuer_text(top);
  const std::string aki = key_id_text(X509_get0_authority_key_id(top));
  std::string prefix;
  if (top != in.leaf) {
    prefix = fmt::format("{} (depth {}) was issued by {}: ", subject_text(top), in.chain.size() - 1,
                         issuer);
  }
  const std::vector<X509*> same_name = store.cas_named(X509_get_issuer_name(top));
  if (!same_name.empty()) {
    X509* ca = same_name.front();
    const bool trusted = store.is_trusted_ca(ca);
    return prefix +
           fmt::format(
               "{} is in {} but with another key (its subject key id is {}, the certificate "
               "names authority key id {}): the certificate was issued by a different CA with "
               "the same name; configure that CA (or have the client send it)",
               issuer, trusted ? "trusted_ca" : "intermediates",
               key_id_text(X509_get0_subject_key_id(ca)), aki.empty() ? "(none)" : aki);
  }
  return prefix + missing_intermediate_hint(issuer, aki);
}

std::string explain_validity(const TrustStore& store, const HintInput& in, bool expired) {
  X509* cert = in.cert != nullptr ? in.cert : cert_at(in, in.depth);
  if (cert == nullptr) return {};
  const auto boundary =
      asn1_time_point(expired ? X509_get0_notAfter(cert) : X509_get0_notBefore(cert));
  if (!boundary) return fmt::format("{}: {}", role_of(store, cert, in.depth), in.reason);
  std::string hint = fmt::format("{} {}", role_of(store, cert, in.depth),
                                 expired ? expired_phrase(*boundary, in.now)
                                         : "is " + not_yet_valid_phrase(*boundary, in.now));
  if (near_now(*boundary, in.now)) {
    hint +=
        "; so close to now that a wrong clock on the client, the issuer or this server is "
        "as likely: check them";
  } else if (in.depth == 0) {
    hint += expired ? "; renew it" : "; wait until then or reissue it";
  } else {
    hint += expired ? "; renew that CA certificate and give clients the new one"
                    : "; wait until then or fix the clock of the machine that issued it";
  }
  return hint;
}

std::string explain_purpose(const TrustStore& store, const HintInput& in) {
  X509* cert = in.cert != nullptr ? in.cert : in.leaf;
  const std::string_view wanted = in.wanted_eku.empty() ? "clientAuth" : in.wanted_eku;
  const std::string eku = eku_phrase(cert, wanted);
  if (in.depth > 0) {
    return fmt::format(
        "{} {}: a CA whose EKU is present must include {} too (OpenSSL checks EKU on the whole "
        "chain); reissue that CA or use one without this restriction",
        role_of(store, cert, in.depth), eku.empty() ? std::string(in.reason) : eku, wanted);
  }
  if (!eku.empty()) {
    return fmt::format("{}: {} is not for {}; issue one whose EKU includes {} (or has no EKU)", eku,
                       subject_text(cert),
                       wanted == "clientAuth" ? "client authentication" : "server authentication",
                       wanted);
  }
  const std::vector<std::string> ku = key_usage_names(cert);
  if (!ku.empty()) {
    return fmt::format(
        "keyUsage has {} only: {} needs digitalSignature (or keyAgreement); reissue {} with "
        "keyUsage digitalSignature",
        fmt::join(ku, ", "),
        wanted == "clientAuth" ? "client authentication" : "server authentication",
        subject_text(cert));
  }
  return fmt::format("{}: {}", subject_text(cert), in.reason);
}

/// Advice for the RFC 5280 conformance findings of X509_V_FLAG_X509_STRICT ("" otherwise).
std::string_view strict_note(int error) {
  switch (error) {
    case X509_V_ERR_EC_KEY_EXPLICIT_PARAMS:
      return "; RFC 5280 requires this and Portcullis verifies strictly (X509_V_FLAG_X509_STRICT): "
             "reissue the certificate";
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return "; a critical extension that is not understood makes the certificate unusable "
             "(RFC 5280 4.2): reissue it without that extension or mark it non-critical";
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
      return "; a name constraint of a CA above it forbids this name";
    default:
      return {};
  }
}

std::string explain_ca(const TrustStore& store, const HintInput& in) {
  X509* cert = in.cert != nullptr ? in.cert : cert_at(in, in.depth);
  const std::string who = role_of(store, cert, in.depth);
  switch (in.openssl_error) {
    case X509_V_ERR_INVALID_CA:
      return fmt::format(
          "{} issues certificates but is not a CA ({}): only a CA certificate "
          "(basicConstraints CA:TRUE) may sign others; reissue it as a CA",
          who,
          (X509_get_extension_flags(cert) & EXFLAG_BCONS) != 0 ? "basicConstraints CA:FALSE"
                                                               : "no basicConstraints extension");
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: {
      const long path_len = X509_get_pathlen(cert);
      return fmt::format(
          "{} has pathLenConstraint {}, but {} intermediate CA certificate(s) follow it in the "
          "chain: reissue it with a larger pathLen or shorten the chain",
          who, path_len, std::max(in.depth - 1, 0));
    }
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: {
      const std::vector<std::string> ku = key_usage_names(cert);
      return fmt::format("{} signs certificates but its keyUsage ({}) lacks keyCertSign", who,
                         ku.empty() ? std::string("none") : fmt::format("{}", fmt::join(ku, ", ")));
    }
    default:
      return fmt::format("{}: {}{}", who, in.reason, strict_note(in.openssl_error));
  }
}

std::string crl_issuer_text(X509_CRL* crl) {
  return crl != nullptr ? name_text(X509_CRL_get_issuer(crl)) : std::string("its issuer");
}

std::string explain_revoked(const TrustStore& store, const HintInput& in) {
  X509* cert = in.cert != nullptr ? in.cert : cert_at(in, in.depth);
  std::string when;
  X509_REVOKED* revoked = nullptr;
  if (in.crl != nullptr && cert != nullptr && X509_CRL_get0_by_cert(in.crl, &revoked, cert) == 1 &&
      revoked != nullptr) {
    if (auto t = asn1_time_point(X509_REVOKED_get0_revocationDate(revoked))) {
      when = fmt::format(" (revoked at {})", rfc3339(*t));
    }
  }
  return fmt::format(
      "{} (serial {}) is listed as revoked in the CRL of {}{}: {}", role_of(store, cert, in.depth),
      serial_text(cert), crl_issuer_text(in.crl), when,
      in.depth == 0 ? "issue the client a new certificate"
                    : "every certificate that CA issued is rejected; use another CA");
}

std::string explain_invalid(const TrustStore& store, const HintInput& in) {
  X509* cert = in.cert != nullptr ? in.cert : cert_at(in, in.depth);
  const std::string who = cert != nullptr ? role_of(store, cert, in.depth) : "a certificate";
  switch (in.openssl_error) {
    case X509_V_ERR_CRL_HAS_EXPIRED: {
      const ASN1_TIME* next = in.crl != nullptr ? X509_CRL_get0_nextUpdate(in.crl) : nullptr;
      const auto t = asn1_time_point(next);
      return fmt::format(
          "the CRL of {} {} (nextUpdate): the revocation status of {} cannot be checked, so it is "
          "rejected; publish a fresh CRL to {}",
          crl_issuer_text(in.crl), t ? expired_phrase(*t, in.now) : "has expired", who,
          store.crl_name());
    }
    case X509_V_ERR_CRL_NOT_YET_VALID: {
      const ASN1_TIME* last = in.crl != nullptr ? X509_CRL_get0_lastUpdate(in.crl) : nullptr;
      const auto t = asn1_time_point(last);
      return fmt::format(
          "the CRL of {} is {} (lastUpdate): the revocation status of {} cannot be checked; check "
          "the clock of the CA that issued it and of this server",
          crl_issuer_text(in.crl), t ? not_yet_valid_phrase(*t, in.now) : "not yet valid", who);
    }
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return fmt::format(
          "no CRL of {} covers {}: with crl configured, every certificate of the chain "
          "(intermediates too, as nginx's ssl_crl) needs a current CRL from its issuer in {}",
          cert != nullptr ? issuer_text(cert) : std::string("its issuer"), who, store.crl_name());
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      return fmt::format(
          "the signature of the CRL of {} does not verify: the revocation status of {} cannot be "
          "checked; replace the CRL in {}",
          crl_issuer_text(in.crl), who, store.crl_name());
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return fmt::format(
          "{}: {} (security level 2: RSA keys of at least 2048 bits, EC keys of at least 224 "
          "bits, no SHA-1 or MD5 signatures)",
          who, in.reason);
    case 0:
      if (in.depth == 0 && in.chain.size() == 1) {
        return fmt::format(
            "the client presented {}, a CA certificate of trusted_ca, as its own certificate: a "
            "trust anchor authenticates the certificates it issues, not itself",
            subject_text(in.leaf));
      }
      [[fallthrough]];
    default:
      return fmt::format("{}: {}{}", who, in.reason, strict_note(in.openssl_error));
  }
}

}  // namespace

std::string explain_failure(const TrustStore& store, const HintInput& in) {
  std::string hint;
  switch (in.code) {
    case DenialCode::MtlsSelfSigned: {
      X509* leaf = in.leaf;
      hint = fmt::format(
          "the certificate {} is self-signed (its own issuer), so no CA of trusted_ca vouches for "
          "it: issue the client a certificate from a CA in trusted_ca{}",
          subject_text(leaf), same_name_note(store, leaf));
      break;
    }
    case DenialCode::MtlsChainTooLong: {
      std::vector<std::string> names;
      for (std::size_t i = 1; i < in.chain.size(); ++i) names.push_back(subject_text(in.chain[i]));
      hint = fmt::format(
          "the chain has more intermediate CA certificates than verify_depth {} allows (found "
          "before giving up: {}): raise verify_depth or shorten the chain",
          in.max_depth,
          names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")));
      break;
    }
    case DenialCode::MtlsIssuerUntrusted:
      hint = explain_untrusted(store, in);
      break;
    case DenialCode::MtlsChainIncomplete:
      hint = explain_incomplete(store, in);
      break;
    case DenialCode::MtlsSignatureInvalid: {
      X509* cert = in.cert != nullptr ? in.cert : cert_at(in, in.depth);
      X509* issuer = cert_at(in, in.depth + 1);
      hint = fmt::format(
          "the signature of {} does not verify with the public key of its issuer {}: the "
          "certificate was altered, or signed by another key than the issuer's",
          role_of(store, cert, in.depth),
          issuer != nullptr ? subject_text(issuer) : issuer_text(cert));
      break;
    }
    case DenialCode::MtlsCaInvalid:
      hint = explain_ca(store, in);
      break;
    case DenialCode::MtlsCertRevoked:
      hint = explain_revoked(store, in);
      break;
    case DenialCode::MtlsCertExpired:
      hint = explain_validity(store, in, true);
      break;
    case DenialCode::MtlsCertNotYetValid:
      hint = explain_validity(store, in, false);
      break;
    case DenialCode::MtlsPurposeInvalid:
      hint = explain_purpose(store, in);
      break;
    case DenialCode::MtlsIssuerDnMismatch:
      hint = issuer_dn_hint(issuer_text(in.leaf), store.ca_subject_strings());
      break;
    case DenialCode::MtlsCertMissing:
      hint = advertised_names_hint(store.client_ca_names());
      break;
    default:
      hint = explain_invalid(store, in);
      break;
  }
  if (in.leaf != nullptr && store.is_trusted_leaf(in.leaf)) {
    hint = fmt::format("{}; {}", kLeafInTrustedCaHint, hint);
  }
  ERR_clear_error();
  return hint;
}

}  // namespace portcullis::pki

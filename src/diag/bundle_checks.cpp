// The bundle checks. Structure problems (empty, keys, damaged data, no CA, roots) are errors
// because a gateway started with such a file trusts the wrong thing or nothing; everything that
// only weakens or confuses the trust (expiry, duplicates, weak crypto, missing identifiers) is a
// warning. The gateway runs the same function at start-up (check_trust_bundle_for_loading).
#include "diag/bundle_checks.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "pki/hints.h"

namespace portcullis::diag {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

constexpr std::array<FindingSpec, 20> kFindings{{
    {"bundle.empty", "error", "The file is empty",
     "Put the CA certificates that issue your client certificates into the file as PEM "
     "(`-----BEGIN CERTIFICATE-----` blocks); an empty bundle trusts nobody."},
    {"bundle.private_key_present", "error", "The file holds a private key",
     "Remove the key: a trust bundle holds only CA certificates and is shared freely. Keep keys "
     "in their own file (mode 0600), and treat a key that was in a shared file as exposed."},
    {"bundle.invalid_data", "error", "The file holds damaged or unrecognised data",
     "Re-export the bundle: one BEGIN/END CERTIFICATE pair per certificate with intact base64 "
     "between them (comments outside the blocks are fine), or a single DER certificate."},
    {"bundle.no_ca_certificate", "error", "No CA certificate in the bundle",
     "Put the CA certificates that issue the client certificates (basicConstraints CA:TRUE) in "
     "the bundle, not the client certificates themselves."},
    {"bundle.root_count", "error with --one-root, otherwise warning",
     "Not exactly one self-signed root CA",
     "Include the self-signed root CA of each client PKI (with its intermediates, if any). "
     "With --one-root (Azure Application Gateway's rule) a bundle holds exactly one root: split "
     "unrelated PKIs into separate bundles."},
    {"bundle.format_not_pem", "warning", "The bundle is not PEM",
     "Convert it to PEM before using it as trusted_ca: `openssl x509 -inform der -in F -out "
     "F.pem` (DER), `openssl pkcs7 -print_certs -in F -out F.pem` (PKCS#7), `openssl pkcs12 "
     "-nokeys -in F -out F.pem` (PKCS#12)."},
    {"bundle.not_a_certificate", "warning", "A block that is not a certificate is ignored",
     "Remove it: CRLs belong in client_auth.crl; requests and public keys do not belong in a "
     "trust bundle."},
    {"bundle.ca_expired", "warning", "A CA certificate has expired",
     "Replace it with the renewed CA certificate; every chain through it is rejected "
     "(mtls.cert_expired)."},
    {"bundle.ca_not_yet_valid", "warning", "A CA certificate is not yet valid",
     "Check the clock of the machine that issued it and of this one; until its notBefore, "
     "chains through it are rejected (mtls.cert_not_yet_valid)."},
    {"bundle.ca_expiring", "warning", "A CA certificate expires within 30 days",
     "Obtain the renewed CA certificate and add it now (old and new can both be in the bundle "
     "during the change-over)."},
    {"bundle.leaf_certificate", "warning", "A leaf certificate is in the bundle",
     "Remove it: a certificate without basicConstraints CA:TRUE is ignored as a trust anchor "
     "and authenticates nobody. Add the CA that issued it instead."},
    {"bundle.ca_without_key_cert_sign", "warning", "A CA certificate lacks keyCertSign",
     "Reissue the CA with keyUsage keyCertSign (and cRLSign). A keyUsage without keyCertSign "
     "makes OpenSSL reject every chain through it (mtls.ca_invalid); a missing keyUsage fails "
     "strict RFC 5280 checks."},
    {"bundle.duplicate_certificate", "warning", "The same certificate appears twice",
     "Remove the extra copy."},
    {"bundle.multiple_chains", "warning", "The bundle holds several separate chains",
     "Fine when several client PKIs share the listener; otherwise remove the CAs that do not "
     "issue your clients: every CA here is trusted and advertised."},
    {"bundle.issuer_missing", "warning", "An intermediate CA's issuer is not in the bundle",
     "Add its issuer, up to the self-signed root: Portcullis accepts only chains that end at a "
     "self-signed root of trusted_ca, so chains through this intermediate are rejected "
     "(mtls.issuer_untrusted)."},
    {"bundle.weak_signature", "warning", "A certificate is signed with SHA-1 or MD5",
     "Reissue it with a SHA-256 (or stronger) signature: OpenSSL at security level 2 (Debian's "
     "default, and Portcullis's) rejects SHA-1 and MD5 signatures below the trust anchor."},
    {"bundle.rsa_key_too_small", "warning", "An RSA key is shorter than 2048 bits",
     "Reissue the CA with an RSA key of at least 2048 bits (or ECDSA P-256): security level 2 "
     "rejects smaller keys."},
    {"bundle.missing_ski", "warning", "A CA certificate has no subjectKeyIdentifier",
     "Reissue the CA with a subjectKeyIdentifier: RFC 5280 requires it on CAs, strict verifiers "
     "reject its absence, and chain building between CAs of the same name relies on it."},
    {"bundle.missing_aki", "warning", "A certificate has no authorityKeyIdentifier",
     "Reissue it with an authorityKeyIdentifier: RFC 5280 requires it on every certificate that "
     "is not self-signed, and strict verifiers reject its absence."},
    {"bundle.ca_names_size", "warning (error above 65535 bytes)",
     "The advertised CA names are large",
     "Trim the bundle to the CAs that issue your clients: the server sends every CA subject in "
     "its CertificateRequest, and large lists break some clients (one TLS record is 16 KiB; the "
     "list cannot exceed 65535 bytes)."},
}};

/// At most kListed items joined with ", " and "and N more".
constexpr std::size_t kListed = 5;
std::string listed(const std::vector<std::string>& items) {
  if (items.size() <= kListed) return fmt::format("{}", fmt::join(items, ", "));
  return fmt::format("{}, and {} more", fmt::join(items.begin(), items.begin() + kListed, ", "),
                     items.size() - kListed);
}

CertRef ref_of(const BundleReport& r, std::size_t i) {
  const pki::CertSummary& s = r.certificates[i].summary;
  return CertRef{i + 1, s.subject, s.sha256};
}

std::string cert_text(const BundleReport& r, std::size_t i) {
  return fmt::format("certificate {} ({})", i + 1, r.certificates[i].summary.subject);
}

/// Bytes of the DER subject names of the CAs, deduplicated, as TLS encodes them.
std::size_t ca_names_size(const std::vector<X509*>& certs, const std::vector<CertFacts>& facts) {
  std::vector<const X509_NAME*> names;
  std::size_t total = 2;  // the list's own length field
  for (std::size_t i = 0; i < certs.size(); ++i) {
    if (!facts[i].summary.is_ca) continue;
    X509_NAME* name = X509_get_subject_name(certs[i]);  // i2d_X509_NAME takes it non-const
    if (std::any_of(names.begin(), names.end(),
                    [&](const X509_NAME* n) { return X509_NAME_cmp(n, name) == 0; })) {
      continue;
    }
    names.push_back(name);
    const int len = i2d_X509_NAME(name, nullptr);
    if (len > 0) total += 2 + static_cast<std::size_t>(len);
  }
  ERR_clear_error();
  return names.empty() ? 0 : total;
}

}  // namespace

std::string_view severity_name(Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

std::span<const FindingSpec> bundle_finding_catalogue() {
  return kFindings;
}

const FindingSpec* find_bundle_finding(std::string_view code) {
  for (const FindingSpec& f : kFindings) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

std::size_t BundleReport::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [](const Finding& f) { return f.severity == Severity::Error; }));
}

std::size_t BundleReport::warning_count() const {
  return findings.size() - error_count();
}

BundleReport check_bundle(const FileContents& contents, const BundleOptions& options) {
  BundleReport r;
  r.file = contents.name;
  r.format = contents.format;
  r.size = contents.size;
  r.at = options.at.value_or(std::chrono::system_clock::now());

  const auto add = [&](std::string_view code, Severity severity, std::optional<std::size_t> cert,
                       int line, std::string message) {
    const FindingSpec* spec = find_bundle_finding(code);
    Finding f;
    f.code = std::string(code);
    f.severity = severity;
    if (cert) f.cert = ref_of(r, *cert);
    f.line = line;
    f.message = std::move(message);
    f.fix = spec != nullptr ? std::string(spec->fix) : std::string();
    r.findings.push_back(std::move(f));
  };

  if (contents.format == FileFormat::Empty) {
    add("bundle.empty", Severity::Error, std::nullopt, 0,
        contents.size == 0 ? "the file is empty (0 bytes)"
                           : "the file holds only whitespace: no certificate");
    return r;
  }

  // Data problems, in file order.
  for (const DataProblem& p : contents.problems) {
    add("bundle.invalid_data", Severity::Error, std::nullopt, p.line, p.message);
  }

  std::vector<X509*> certs;
  for (const Item& item : contents.items) {
    switch (item.kind) {
      case ItemKind::Certificate:
        certs.push_back(item.cert.get());
        r.certificates.push_back(cert_facts(item.cert.get()));
        r.lines.push_back(item.line);
        break;
      case ItemKind::PrivateKey:
        // SECURITY: any private key in a file meant to be shared is an error, whatever its form.
        add("bundle.private_key_present", Severity::Error, std::nullopt, item.line,
            item.line > 0
                ? fmt::format("a private key (\"{}\" block at line {})", item.label, item.line)
                : fmt::format("a private key ({}{})", item.label,
                              item.container.empty() ? "" : " in the " + item.container + " file"));
        break;
      case ItemKind::PublicKey:
      case ItemKind::CertificateRequest:
      case ItemKind::Crl:
      case ItemKind::Other:
        add("bundle.not_a_certificate", Severity::Warning, std::nullopt, item.line,
            item.line > 0
                ? fmt::format("a {} (\"{}\" block at line {}) is ignored",
                              item_kind_name(item.kind), item.label, item.line)
                : fmt::format("a {} ({}) is ignored", item_kind_name(item.kind), item.label));
        break;
    }
  }
  if (contents.format == FileFormat::Der || contents.format == FileFormat::Pkcs7 ||
      contents.format == FileFormat::Pkcs12) {
    add("bundle.format_not_pem", Severity::Warning, std::nullopt, 0,
        fmt::format("the file is {}; trusted_ca and tls.ca are read as PEM",
                    format_name(contents.format)));
  }

  const Links links = link_certificates(certs);
  r.chains = chains_of(certs, links);
  const auto now = r.at;

  for (std::size_t i = 0; i < certs.size(); ++i) {
    const CertFacts& f = r.certificates[i];
    const pki::CertSummary& s = f.summary;
    const int line = r.lines[i];
    if (f.invalid_extensions) {
      add("bundle.invalid_data", Severity::Error, i, line,
          fmt::format("{} has malformed or duplicate extensions: OpenSSL rejects it",
                      cert_text(r, i)));
    }
    if (links.duplicate_of[i] >= 0) {
      add("bundle.duplicate_certificate", Severity::Warning, i, line,
          fmt::format("{} is identical to certificate {}", cert_text(r, i),
                      links.duplicate_of[i] + 1));
      continue;  // every other finding was reported on the first copy
    }
    if (!s.is_ca) {
      add("bundle.leaf_certificate", Severity::Warning, i, line,
          fmt::format(
              "{} is not a CA ({}): ignored as a trust anchor", cert_text(r, i),
              f.basic_constraints ? "basicConstraints CA:FALSE" : "no basicConstraints extension"));
    } else {
      ++r.ca_count;
      if (links.root[i]) ++r.root_count;
      if (now > s.valid_until) {
        add("bundle.ca_expired", Severity::Warning, i, line,
            fmt::format("{} {}", cert_text(r, i), pki::expired_phrase(s.valid_until, now)));
      } else if (now < s.valid_from) {
        add("bundle.ca_not_yet_valid", Severity::Warning, i, line,
            fmt::format("{} is {}", cert_text(r, i), pki::not_yet_valid_phrase(s.valid_from, now)));
      } else if (s.valid_until - now < options.expiring_within) {
        add("bundle.ca_expiring", Severity::Warning, i, line,
            fmt::format("{} expires in {} at {}", cert_text(r, i),
                        pki::human_duration(duration_cast<seconds>(s.valid_until - now)),
                        s.not_after));
      }
      if (!f.key_usage_present) {
        add("bundle.ca_without_key_cert_sign", Severity::Warning, i, line,
            fmt::format("{} has no keyUsage extension (RFC 5280 requires keyCertSign on a CA)",
                        cert_text(r, i)));
      } else if (std::find(s.key_usage.begin(), s.key_usage.end(), "keyCertSign") ==
                 s.key_usage.end()) {
        add("bundle.ca_without_key_cert_sign", Severity::Warning, i, line,
            fmt::format("{} has keyUsage {} without keyCertSign: it cannot sign certificates",
                        cert_text(r, i),
                        s.key_usage.empty() ? std::string("(empty)")
                                            : fmt::format("{}", fmt::join(s.key_usage, ","))));
      }
      if (!links.root[i] && links.issuer[i] < 0) {
        add("bundle.issuer_missing", Severity::Warning, i, line,
            fmt::format("{} is an intermediate CA and its issuer '{}' is not in the bundle",
                        cert_text(r, i), s.issuer));
      }
      if (s.subject_key_id.empty()) {
        add("bundle.missing_ski", Severity::Warning, i, line,
            fmt::format("{} has no subjectKeyIdentifier", cert_text(r, i)));
      }
    }
    if (!links.root[i] && s.authority_key_id.empty()) {
      add("bundle.missing_aki", Severity::Warning, i, line,
          fmt::format("{} is not self-signed and has no authorityKeyIdentifier", cert_text(r, i)));
    }
    if (f.weak_signature_hash) {
      add("bundle.weak_signature", Severity::Warning, i, line,
          links.root[i]
              ? fmt::format("{} is signed with {} ({}); harmless on a self-signed root, whose "
                            "self-signature is not what makes it trusted, but a sign of an old CA",
                            cert_text(r, i), f.signature_hash, f.signature_algorithm)
              : fmt::format("{} is signed with {} ({})", cert_text(r, i), f.signature_hash,
                            f.signature_algorithm));
    }
    if ((f.key_algorithm == "RSA" || f.key_algorithm == "RSA-PSS") && f.key_bits > 0 &&
        f.key_bits < 2048) {
      add("bundle.rsa_key_too_small", Severity::Warning, i, line,
          fmt::format("{} has a {}-bit RSA key", cert_text(r, i), f.key_bits));
    }
  }

  const bool any_cert = !certs.empty();
  const bool any_data = any_cert || !contents.items.empty() || !contents.problems.empty();
  if (any_data && r.ca_count == 0) {
    add("bundle.no_ca_certificate", Severity::Error, std::nullopt, 0,
        any_cert ? fmt::format("no CA certificate: none of the {} certificates has "
                               "basicConstraints CA:TRUE, so there is no trust anchor",
                               certs.size())
                 : std::string("no CA certificate: the file holds no certificate at all"));
  }
  if (r.ca_count > 0 && r.root_count != 1) {
    const Severity sev = options.one_root ? Severity::Error : Severity::Warning;
    if (r.root_count == 0) {
      add("bundle.root_count", sev, std::nullopt, 0,
          "no self-signed root CA: Portcullis does not accept partial chains, so no client "
          "chain can end at a trust anchor of this bundle");
    } else {
      std::vector<std::string> roots;
      for (std::size_t i = 0; i < certs.size(); ++i) {
        if (links.root[i] && links.duplicate_of[i] < 0 && r.certificates[i].summary.is_ca) {
          roots.push_back(
              fmt::format("certificate {} ({})", i + 1, r.certificates[i].summary.subject));
        }
      }
      add("bundle.root_count", sev, std::nullopt, 0,
          fmt::format("{} self-signed root CAs: {}", r.root_count, listed(roots)));
    }
  }
  if (tree_count(r.chains) > 1 && any_cert) {
    std::vector<std::string> tops;
    for (const Chain& c : r.chains) {
      const std::size_t top = c.members.back();
      std::string t =
          fmt::format("certificate {} ({})", top + 1, r.certificates[top].summary.subject);
      if (std::find(tops.begin(), tops.end(), t) == tops.end()) tops.push_back(std::move(t));
    }
    add("bundle.multiple_chains", Severity::Warning, std::nullopt, 0,
        fmt::format("{} separate chains, topped by {}", tops.size(), listed(tops)));
  }
  r.ca_names_bytes = ca_names_size(certs, r.certificates);
  if (r.ca_names_bytes > kCaNamesMaxBytes) {
    // SECURITY: the server could not send its CertificateRequest: no client could authenticate.
    add("bundle.ca_names_size", Severity::Error, std::nullopt, 0,
        fmt::format("the CA names take {} bytes, more than the 65535 a CertificateRequest can "
                    "carry",
                    r.ca_names_bytes));
  } else if (r.ca_names_bytes > kCaNamesWarnBytes) {
    add("bundle.ca_names_size", Severity::Warning, std::nullopt, 0,
        fmt::format("the CA names the server advertises take {} bytes ({} CAs)", r.ca_names_bytes,
                    r.ca_count));
  }

  std::stable_sort(r.findings.begin(), r.findings.end(), [](const Finding& a, const Finding& b) {
    return a.severity == Severity::Error && b.severity != Severity::Error;
  });
  return r;
}

core::Result<BundleReport> check_bundle_file(const std::string& path, const BundleOptions& options,
                                             const ReadOptions& read) {
  auto contents = read_contents(path, read);
  if (!contents) return std::unexpected(std::move(contents.error()));
  return check_bundle(*contents, options);
}

std::string finding_line(const Finding& f) {
  std::string out = f.code + ": ";
  if (f.cert) {
    out += f.message;  // the message names the certificate
  } else if (f.line > 0 && f.message.find("line") == std::string::npos) {
    out += fmt::format("line {}: {}", f.line, f.message);
  } else {
    out += f.message;
  }
  return out;
}

core::Result<std::vector<std::string>> check_trust_bundle_for_loading(const std::string& path) {
  // SECURITY: PKCS#12 archives are never opened here with a password: the gateway reads PEM,
  // and a key container is refused as a private key anyway.
  auto report = check_bundle_file(path, BundleOptions{});
  if (!report) return std::unexpected(std::move(report.error()));
  std::vector<std::string> warnings;
  for (const Finding& f : report->findings) {
    // SECURITY: the gateway reads PEM only; a DER or PKCS#12 trust file must not get as far as
    // a loader that would find "no certificate" in it.
    if (f.severity == Severity::Error || f.code == "bundle.format_not_pem") {
      return core::fail(fmt::format("\"{}\": {}; fix: {}", path, finding_line(f), f.fix));
    }
    warnings.push_back(fmt::format("\"{}\": {}", path, finding_line(f)));
  }
  return warnings;
}

}  // namespace portcullis::diag

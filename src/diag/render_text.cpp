// Text rendering of the diagnostics reports: aligned "name  value" lines, one block per object,
// findings with their fix right below. Meant for terminals and for pasting into tickets.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/denial.h"
#include "diag/render.h"
#include "pki/hints.h"

namespace portcullis::diag {
namespace {

using Clock = std::chrono::system_clock;

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string or_none(const std::vector<std::string>& v) {
  return v.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(v, ", "));
}

std::string constraints_text(const CertFacts& f) {
  if (!f.basic_constraints) return "no basicConstraints";
  std::string out = f.summary.is_ca ? "CA:TRUE" : "CA:FALSE";
  if (f.path_len >= 0) out += fmt::format(", pathlen {}", f.path_len);
  if (f.basic_constraints_critical) out += ", critical";
  return out;
}

/// The full block of one certificate, each line prefixed with `indent`.
void cert_block(std::string& out, const CertFacts& f, Clock::time_point now,
                std::string_view indent) {
  const pki::CertSummary& s = f.summary;
  const auto line = [&](std::string_view name, const std::string& value) {
    out += fmt::format("{}{:<11}{}\n", indent, name, value);
  };
  line("subject", s.subject);
  line("issuer", s.issuer);
  line("serial", s.serial);
  line("validity",
       fmt::format("{} .. {} ({})", s.not_before, s.not_after, validity_phrase(s, now)));
  line("key", s.key_type);
  line("signature", f.signature_algorithm + (f.weak_signature_hash ? " (weak hash)" : ""));
  line("role", fmt::format("{} ({})", role_of(s), constraints_text(f)));
  line("SANs", or_none(s.sans));
  line("EKU", s.extended_key_usage.empty()
                  ? "(no extension: any purpose)"
                  : fmt::format("{}", fmt::join(s.extended_key_usage, ", ")));
  line("key usage", f.key_usage_present ? or_none(s.key_usage) : "(no extension)");
  line("SKI", s.subject_key_id.empty() ? "(none)" : s.subject_key_id);
  line("AKI", s.authority_key_id.empty() ? "(none)" : s.authority_key_id);
  line("sha256", s.sha256);
}

/// "3 -> 2 -> 1 (root)" with 1-based numbers.
std::string chain_text(const Chain& c) {
  std::vector<std::string> parts;
  for (std::size_t m : c.members) parts.push_back(std::to_string(m + 1));
  std::string out = fmt::format("{}", fmt::join(parts, " -> "));
  out += c.ends_at_root ? " (self-signed root)"
                        : fmt::format(" (issuer '{}' not in the file)", c.missing_issuer);
  return out;
}

}  // namespace

std::string bundle_text(const BundleReport& r) {
  std::string out;
  out += fmt::format(
      "{}: {}, {} bytes, {} ({}, {}), CA names {} bytes\n", r.file, format_name(r.format), r.size,
      plural(r.certificates.size(), "certificate", "certificates"), plural(r.ca_count, "CA", "CAs"),
      plural(r.root_count, "self-signed root", "self-signed roots"), r.ca_names_bytes);
  for (std::size_t i = 0; i < r.certificates.size(); ++i) {
    const pki::CertSummary& s = r.certificates[i].summary;
    out += fmt::format("  [{}] {}\n", i + 1, s.subject);
    out += fmt::format("      {}, {}, {}{}\n", role_of(s), s.key_type, validity_phrase(s, r.at),
                       r.lines[i] > 0 ? fmt::format(", line {}", r.lines[i]) : "");
    out += fmt::format("      sha256 {}\n", s.sha256);
  }
  if (!r.chains.empty()) {
    out += "chains:\n";
    for (const Chain& c : r.chains) out += fmt::format("  {}\n", chain_text(c));
  }
  for (const Finding& f : r.findings) {
    out += fmt::format("{:<8}{}", severity_name(f.severity), f.code);
    if (f.cert) out += fmt::format(" [certificate {}]", f.cert->index);
    if (f.line > 0) out += fmt::format(" [line {}]", f.line);
    out += fmt::format("\n        {}\n", f.message);
    if (f.cert) out += fmt::format("        sha256 {}\n", f.cert->sha256);
    out += fmt::format("        fix: {}\n", f.fix);
  }
  const std::size_t errors = r.error_count();
  const std::size_t warnings = r.warning_count();
  out += fmt::format("{}: {}, {}\n", errors > 0 ? "REJECTED" : "OK",
                     plural(errors, "error", "errors"), plural(warnings, "warning", "warnings"));
  return out;
}

std::string verify_text(const VerifyReport& r) {
  const pki::Verdict& v = r.verdict;
  const auto& policy = r.request.policy;
  std::string out;
  if (v.ok()) {
    out += "ACCEPTED  the certificate verifies, as the gateway would accept it\n";
  } else {
    const core::DenialSpec& spec = core::spec(v.code.value_or(core::DenialCode::MtlsCertInvalid));
    out += fmt::format("REJECTED  {}: {}\n", spec.code, spec.title);
    std::string reason = v.reason;
    if (v.openssl_error != 0) reason += fmt::format(" (X509_V_ERR {})", v.openssl_error);
    if (v.depth >= 0) reason += fmt::format(" at depth {}", v.depth);
    out += fmt::format("reason    {}\n", reason);
    if (!v.hint.empty()) out += fmt::format("hint      {}\n", v.hint);
    out += fmt::format("fix       {}\n", spec.hint);
  }
  out += fmt::format("verify    {}\n", v.ssl_client_verify());
  out += fmt::format(
      "policy    purpose {}, verify_depth {}, EKU {}, issuer DN {}, X509_STRICT {}, at {}\n",
      purpose_name(policy.purpose), policy.max_depth,
      policy.require_client_auth_eku && policy.purpose != pki::VerifyPolicy::Any ? "enforced"
                                                                                 : "not checked",
      policy.verify_issuer_dn ? "checked" : "not checked", policy.x509_strict ? "on" : "off",
      pki::rfc3339(r.at));
  out += fmt::format("trust     {} ({} trusted CA{}, {} intermediate{}, {} CRL{})\n",
                     r.request.ca_file, r.trusted_count, r.trusted_count == 1 ? "" : "s",
                     r.intermediates_count, r.intermediates_count == 1 ? "" : "s", r.crl_count,
                     r.crl_count == 1 ? "" : "s");
  if (!r.presented.empty()) {
    out += "leaf:\n";
    cert_block(out, r.presented.front(), r.at, "  ");
  }
  if (r.presented.size() > 1) {
    out += "also presented:\n";
    for (std::size_t i = 1; i < r.presented.size(); ++i) {
      const pki::CertSummary& s = r.presented[i].summary;
      out += fmt::format("  [{}] {} (issuer {}), {}\n", i, s.subject, s.issuer,
                         validity_phrase(s, r.at));
    }
  }
  if (!r.chain.empty()) {
    out += v.ok() ? "chain built:\n" : "chain built (as far as it goes):\n";
    for (std::size_t i = 0; i < r.chain.size(); ++i) {
      const ChainEntry& e = r.chain[i];
      const pki::CertSummary& s = e.facts.summary;
      out += fmt::format("  depth {}  {}{}\n", i, e.role,
                         e.source.empty() ? "" : fmt::format(" (from {})", e.source));
      out += fmt::format("    subject  {}\n    issuer   {}\n", s.subject, s.issuer);
      out += fmt::format("    serial   {}\n    validity {} .. {} ({})\n    sha256   {}\n", s.serial,
                         s.not_before, s.not_after, validity_phrase(s, r.at), s.sha256);
    }
  }
  if (v.issues.size() > 1) {
    out += "all errors:\n";
    for (const pki::VerifyIssue& i : v.issues) {
      out += fmt::format("  depth {}  {}: {}{}\n", i.depth, core::spec(i.code).code, i.reason,
                         i.subject.empty() ? "" : fmt::format(" ({})", i.subject));
    }
  }
  for (const std::string& w : r.store_warnings) out += fmt::format("warning   {}\n", w);
  return out;
}

std::string inspect_text(const InspectReport& r) {
  std::string out;
  out += fmt::format("{}: {}, {} bytes, {}{}\n", r.file, format_name(r.format), r.size,
                     plural(r.entries.size(), "object", "objects"),
                     r.used_password ? " (opened with a password)" : "");
  for (std::size_t n = 0; n < r.entries.size(); ++n) {
    const InspectEntry& e = r.entries[n];
    std::string where;
    if (e.line > 0) where = fmt::format(", line {}", e.line);
    if (!e.container.empty()) where += fmt::format(", from {}", e.container);
    if (e.cert) {
      out += fmt::format("certificate {}{}\n", e.cert_number, where);
      cert_block(out, *e.cert, r.at, "  ");
    } else if (e.key) {
      out +=
          fmt::format("{} key ({}){}\n", e.key->is_private ? "private" : "public", e.label, where);
      out += fmt::format("  type       {}\n", e.key->encrypted
                                                  ? std::string("(encrypted: not decoded)")
                                              : e.key->type.empty() ? std::string("(not decodable)")
                                                                    : e.key->type);
      if (!e.key->matches_certificates.empty()) {
        out += fmt::format("  matches    certificate {}\n",
                           fmt::join(e.key->matches_certificates, ", "));
      }
      if (e.key->is_private) out += "  (key material is never printed)\n";
    } else if (e.csr) {
      out += fmt::format("certificate request{}\n", where);
      out += fmt::format("  subject    {}\n  key        {}\n  signature  {} ({})\n", e.csr->subject,
                         e.csr->key_type, e.csr->signature_algorithm,
                         e.csr->signature_valid ? "valid" : "INVALID");
      out += fmt::format("  SANs       {}\n", or_none(e.csr->sans));
      if (!e.csr->extended_key_usage.empty()) {
        out += fmt::format("  EKU        {}\n", fmt::join(e.csr->extended_key_usage, ", "));
      }
      if (!e.csr->key_usage.empty()) {
        out += fmt::format("  key usage  {}\n", fmt::join(e.csr->key_usage, ", "));
      }
    } else if (e.crl) {
      out += fmt::format("CRL{}\n", where);
      out += fmt::format("  issuer     {}\n  updated    {}\n  next       {}\n  status     {}\n",
                         e.crl->issuer, e.crl->last_update,
                         e.crl->next_update.empty() ? "(none)" : e.crl->next_update, e.crl->status);
      out += fmt::format("  revoked    {}\n", e.crl->revoked);
      if (!e.crl->crl_number.empty()) out += fmt::format("  number     {}\n", e.crl->crl_number);
      out += fmt::format("  signature  {}\n", e.crl->signature_algorithm);
      if (!e.crl->authority_key_id.empty()) {
        out += fmt::format("  AKI        {}\n", e.crl->authority_key_id);
      }
      if (e.crl->signed_by_certificate > 0) {
        out += fmt::format("  signed by  certificate {}\n", e.crl->signed_by_certificate);
      }
    } else {
      out += fmt::format("{} ({}){}\n", item_kind_name(e.kind), e.label, where);
    }
  }
  if (!r.chains.empty() && r.entries.size() > 1) {
    out += "chains:\n";
    for (const Chain& c : r.chains) out += fmt::format("  {}\n", chain_text(c));
  }
  for (const DataProblem& p : r.problems) {
    out += p.line > 0 ? fmt::format("problem   line {}: {}\n", p.line, p.message)
                      : fmt::format("problem   {}\n", p.message);
  }
  return out;
}

}  // namespace portcullis::diag

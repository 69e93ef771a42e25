// JSON rendering of the diagnostics reports (--json). Field names are documented in
// docs/diagnostics.md; absent facts are null or empty arrays, never missing keys.
#include <fmt/format.h>

#include "core/denial.h"
#include "diag/render.h"
#include "pki/hints.h"

namespace portcullis::diag {
namespace {

using json = nlohmann::ordered_json;

json null_if_empty(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

json chains_json(const std::vector<Chain>& chains) {
  json out = json::array();
  for (const Chain& c : chains) {
    json members = json::array();
    for (std::size_t m : c.members) members.push_back(m + 1);
    out.push_back({{"certificates", members},
                   {"ends_at_root", c.ends_at_root},
                   {"missing_issuer", null_if_empty(c.missing_issuer)}});
  }
  return out;
}

std::string verdict_name(const pki::Verdict& v) {
  switch (v.outcome) {
    case pki::Verdict::Outcome::Success:
      return "accepted";
    case pki::Verdict::Outcome::Failed:
      return "rejected";
    case pki::Verdict::Outcome::None:
      return "no_certificate";
  }
  return "rejected";
}

json optional_file(const std::optional<std::string>& f) {
  return f ? json(*f) : json(nullptr);
}

}  // namespace

json cert_json(const CertFacts& f, std::chrono::system_clock::time_point now) {
  const pki::CertSummary& s = f.summary;
  return json{
      {"subject", s.subject},
      {"issuer", s.issuer},
      {"serial", s.serial},
      {"sha256", s.sha256},
      {"not_before", s.not_before},
      {"not_after", s.not_after},
      {"validity", validity_phrase(s, now)},
      {"expired", now > s.valid_until},
      {"not_yet_valid", now < s.valid_from},
      {"role", role_of(s)},
      {"is_ca", s.is_ca},
      {"self_signed", s.self_signed},
      {"version", f.version},
      {"signature_algorithm", f.signature_algorithm},
      {"signature_hash", null_if_empty(f.signature_hash)},
      {"key_type", s.key_type},
      {"key_bits", f.key_bits},
      {"sans", s.sans},
      {"extended_key_usage", f.summary.extended_key_usage},
      {"key_usage", f.key_usage_present ? json(s.key_usage) : json(nullptr)},
      {"basic_constraints",
       f.basic_constraints ? json{{"critical", f.basic_constraints_critical},
                                  {"ca", s.is_ca},
                                  {"path_len", f.path_len >= 0 ? json(f.path_len) : json(nullptr)}}
                           : json(nullptr)},
      {"subject_key_id", null_if_empty(s.subject_key_id)},
      {"authority_key_id", null_if_empty(s.authority_key_id)},
  };
}

json bundle_json(const BundleReport& r) {
  json certs = json::array();
  for (std::size_t i = 0; i < r.certificates.size(); ++i) {
    json c = cert_json(r.certificates[i], r.at);
    c["index"] = i + 1;
    c["line"] = r.lines[i] > 0 ? json(r.lines[i]) : json(nullptr);
    certs.push_back(std::move(c));
  }
  json findings = json::array();
  for (const Finding& f : r.findings) {
    findings.push_back({{"code", f.code},
                        {"severity", severity_name(f.severity)},
                        {"certificate", f.cert ? json{{"index", f.cert->index},
                                                      {"subject", f.cert->subject},
                                                      {"sha256", f.cert->sha256}}
                                               : json(nullptr)},
                        {"line", f.line > 0 ? json(f.line) : json(nullptr)},
                        {"message", f.message},
                        {"fix", f.fix}});
  }
  return json{{"file", r.file},
              {"format", format_name(r.format)},
              {"size", r.size},
              {"at", pki::rfc3339(r.at)},
              {"ok", r.error_count() == 0},
              {"errors", r.error_count()},
              {"warnings", r.warning_count()},
              {"ca_count", r.ca_count},
              {"root_count", r.root_count},
              {"ca_names_bytes", r.ca_names_bytes},
              {"certificates", certs},
              {"chains", chains_json(r.chains)},
              {"findings", findings}};
}

json verify_json(const VerifyReport& r) {
  const pki::Verdict& v = r.verdict;
  const auto& policy = r.request.policy;
  json out{{"verdict", verdict_name(v)},
           {"ok", v.ok()},
           {"ssl_client_verify", v.ssl_client_verify()},
           {"at", pki::rfc3339(r.at)}};
  if (v.code && !v.ok()) {
    const core::DenialSpec& spec = core::spec(*v.code);
    out["code"] = spec.code;
    out["title"] = spec.title;
    out["fix"] = spec.hint;
    out["status"] = spec.status;
  } else {
    out["code"] = nullptr;
    out["title"] = nullptr;
    out["fix"] = nullptr;
    out["status"] = nullptr;
  }
  out["reason"] = null_if_empty(v.reason);
  out["depth"] = v.depth >= 0 ? json(v.depth) : json(nullptr);
  out["openssl_error"] = v.openssl_error != 0 ? json(v.openssl_error) : json(nullptr);
  out["hint"] = null_if_empty(v.hint);
  out["detail"] = v.detail();
  out["policy"] = {{"purpose", purpose_name(policy.purpose)},
                   {"max_depth", policy.max_depth},
                   {"require_eku", policy.require_client_auth_eku},
                   {"verify_issuer_dn", policy.verify_issuer_dn},
                   {"x509_strict", policy.x509_strict}};
  out["files"] = {{"cert", r.request.cert_file},
                  {"chain", optional_file(r.request.chain_file)},
                  {"ca", r.request.ca_file},
                  {"intermediates", optional_file(r.request.intermediates_file)},
                  {"crl", optional_file(r.request.crl_file)}};
  out["trust_store"] = {{"trusted_cas", r.trusted_count},
                        {"intermediates", r.intermediates_count},
                        {"crls", r.crl_count},
                        {"warnings", r.store_warnings}};
  out["leaf"] = r.presented.empty() ? json(nullptr) : cert_json(r.presented.front(), r.at);
  json presented = json::array();
  for (const CertFacts& c : r.presented) presented.push_back(cert_json(c, r.at));
  out["presented"] = presented;
  json chain = json::array();
  for (std::size_t i = 0; i < r.chain.size(); ++i) {
    json c = cert_json(r.chain[i].facts, r.at);
    c["depth"] = i;
    c["position"] = r.chain[i].role;
    c["source"] = null_if_empty(r.chain[i].source);
    chain.push_back(std::move(c));
  }
  out["chain"] = chain;
  json issues = json::array();
  for (const pki::VerifyIssue& i : v.issues) {
    issues.push_back(
        {{"depth", i.depth >= 0 ? json(i.depth) : json(nullptr)},
         {"code", core::spec(i.code).code},
         {"openssl_error", i.openssl_error != 0 ? json(i.openssl_error) : json(nullptr)},
         {"reason", i.reason},
         {"subject", null_if_empty(i.subject)}});
  }
  out["issues"] = issues;
  return out;
}

json inspect_json(const InspectReport& r) {
  json objects = json::array();
  for (const InspectEntry& e : r.entries) {
    json o{{"kind", item_kind_name(e.kind)},
           {"label", e.label},
           {"line", e.line > 0 ? json(e.line) : json(nullptr)},
           {"container", null_if_empty(e.container)}};
    if (e.cert) {
      o["number"] = e.cert_number;
      o["certificate"] = cert_json(*e.cert, r.at);
    }
    if (e.key) {
      o["key"] = {{"private", e.key->is_private},
                  {"encrypted", e.key->encrypted},
                  {"type", null_if_empty(e.key->type)},
                  {"matches_certificates", e.key->matches_certificates}};
    }
    if (e.csr) {
      o["request"] = {{"subject", e.csr->subject},
                      {"key_type", e.csr->key_type},
                      {"signature_algorithm", e.csr->signature_algorithm},
                      {"signature_valid", e.csr->signature_valid},
                      {"sans", e.csr->sans},
                      {"extended_key_usage", e.csr->extended_key_usage},
                      {"key_usage", e.csr->key_usage}};
    }
    if (e.crl) {
      o["crl"] = {
          {"issuer", e.crl->issuer},
          {"last_update", e.crl->last_update},
          {"next_update", null_if_empty(e.crl->next_update)},
          {"status", e.crl->status},
          {"expired", e.crl->expired},
          {"revoked", e.crl->revoked},
          {"crl_number", null_if_empty(e.crl->crl_number)},
          {"signature_algorithm", e.crl->signature_algorithm},
          {"authority_key_id", null_if_empty(e.crl->authority_key_id)},
          {"signed_by_certificate",
           e.crl->signed_by_certificate > 0 ? json(e.crl->signed_by_certificate) : json(nullptr)}};
    }
    objects.push_back(std::move(o));
  }
  json problems = json::array();
  for (const DataProblem& p : r.problems) {
    problems.push_back(
        {{"line", p.line > 0 ? json(p.line) : json(nullptr)}, {"message", p.message}});
  }
  return json{{"file", r.file},           {"format", format_name(r.format)},
              {"size", r.size},           {"at", pki::rfc3339(r.at)},
              {"ok", r.problems.empty()}, {"password_used", r.used_password},
              {"objects", objects},       {"chains", chains_json(r.chains)},
              {"problems", problems}};
}

}  // namespace portcullis::diag

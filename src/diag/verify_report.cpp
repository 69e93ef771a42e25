// The verify command's work: the presented certificates from any format, the trust store as the
// gateway loads it, one call to the engine with evidence on success, and the chain annotated
// with where each certificate came from.
#include "diag/verify_report.h"

#include <fmt/format.h>

#include <map>

#include "diag/bundle_checks.h"
#include "pki/trust_store.h"

namespace portcullis::diag {
namespace {

/// The certificates of a file the client would send (PEM, DER, PKCS#7 or PKCS#12).
core::Result<std::vector<pki::X509Ptr>> presented_certificates(const std::string& path,
                                                               const ReadOptions& read) {
  auto contents = read_contents(path, read);
  if (!contents) return std::unexpected(std::move(contents.error()));
  if (contents->format == FileFormat::Empty) {
    return core::fail(fmt::format("\"{}\": the file is empty", path));
  }
  if (!contents->problems.empty()) {
    const DataProblem& p = contents->problems.front();
    return core::fail(fmt::format("\"{}\": {}", path, p.message));
  }
  std::vector<pki::X509Ptr> out;
  for (Item& item : contents->items) {
    if (item.kind == ItemKind::Certificate && item.cert) out.push_back(std::move(item.cert));
  }
  if (out.empty()) return core::fail(fmt::format("\"{}\": no certificate found", path));
  return out;
}

}  // namespace

pki::VerifyPolicy VerifyRequest::default_policy() {
  pki::VerifyPolicy p;
  p.max_depth = 4;
  p.require_client_auth_eku = true;
  p.verify_issuer_dn = false;
  p.purpose = pki::VerifyPolicy::Client;
  // The gateway verifies without X509_STRICT (src/net/client_auth.cpp); so does verify unless
  // asked (--strict).
  p.x509_strict = false;
  p.evidence_on_success = true;
  return p;
}

std::string_view purpose_name(pki::VerifyPolicy::Purpose purpose) {
  switch (purpose) {
    case pki::VerifyPolicy::Client:
      return "client";
    case pki::VerifyPolicy::Server:
      return "server";
    case pki::VerifyPolicy::Any:
      return "any";
  }
  return "any";
}

std::expected<VerifyReport, VerifyError> run_verify(const VerifyRequest& request) {
  VerifyReport report;
  report.request = request;
  report.request.policy.evidence_on_success = true;
  report.at = request.policy.at.value_or(std::chrono::system_clock::now());

  const auto failed = [](const core::Error& e) {
    return std::unexpected(VerifyError{e.to_string(), {}, {}});
  };
  auto sent = presented_certificates(request.cert_file, request.read);
  if (!sent) return failed(sent.error());
  std::vector<pki::X509Ptr> certs = std::move(*sent);
  if (request.chain_file) {
    auto more = presented_certificates(*request.chain_file, request.read);
    if (!more) return failed(more.error());
    for (pki::X509Ptr& c : *more) certs.push_back(std::move(c));
  }

  auto store = pki::TrustStore::load(
      request.ca_file, request.intermediates_file ? &*request.intermediates_file : nullptr,
      request.crl_file ? &*request.crl_file : nullptr);
  if (!store) {
    VerifyError error{store.error().to_string(), {}, {}};
    if (error.message.find("\"" + request.ca_file + "\"") != std::string::npos) {
      // The gateway would refuse this trusted_ca at start-up; say which bundle check explains it.
      if (auto bundle = check_bundle_file(request.ca_file, BundleOptions{}); bundle) {
        for (const Finding& f : bundle->findings) {
          if (f.severity != Severity::Error) continue;
          error.code = f.code;
          error.fix = f.fix;
          break;
        }
      }
    }
    return std::unexpected(std::move(error));
  }
  const pki::TrustStore& ts = **store;
  report.store_warnings = ts.warnings();
  report.trusted_count = ts.trusted_cas().size();
  report.intermediates_count = ts.intermediates().size();
  report.crl_count = ts.crls().size();

  std::vector<X509*> presented;
  for (const pki::X509Ptr& c : certs) presented.push_back(c.get());
  // Pin the time once so that the verdict and the report agree.
  pki::VerifyPolicy policy = report.request.policy;
  policy.at = report.at;
  report.verdict = pki::verify_chain(ts, presented, policy);

  // Where each certificate of the built chain came from, by fingerprint.
  std::map<std::string, std::pair<X509*, std::string>> known;
  const auto remember = [&](X509* cert, const char* source) {
    const std::string fp = pki::summarize(cert).sha256;
    known.try_emplace(fp, cert, source);
  };
  for (X509* c : presented) remember(c, "presented");
  for (const pki::X509Ptr& c : ts.trusted_cas()) remember(c.get(), "trusted_ca");
  for (const pki::X509Ptr& c : ts.intermediates()) remember(c.get(), "intermediates");

  for (X509* c : presented) report.presented.push_back(cert_facts(c));
  const auto& chain = report.verdict.chain;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    ChainEntry e;
    const auto it = known.find(chain[i].sha256);
    bool trusted = false;
    if (it != known.end()) {
      e.facts = cert_facts(it->second.first);
      trusted = ts.is_trusted_ca(it->second.first);
      e.source = trusted ? "trusted_ca" : it->second.second;
    } else {
      e.facts.summary = chain[i];
    }
    const bool anchor = i + 1 == chain.size() && i > 0 && trusted;
    e.role = i == 0                        ? "leaf"
             : anchor                      ? "trust anchor"
             : e.facts.summary.self_signed ? "root, not in trusted_ca"
                                           : "intermediate";
    report.chain.push_back(std::move(e));
  }
  return report;
}

}  // namespace portcullis::diag

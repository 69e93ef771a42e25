// Rendering a Verdict for operators: the one-line detail of the denial and the access log, and
// the nginx-style ssl_client_verify value.
#include "pki/verdict.h"

#include <fmt/format.h>

namespace portcullis::pki {
namespace {

/// Keeps detail() on one line whatever a certificate field contains.
void append_one_line(std::string& out, std::string_view text) {
  for (const char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

}  // namespace

std::string Verdict::detail() const {
  std::string out;
  out.reserve(256 + hint.size());
  switch (outcome) {
    case Outcome::None:
      out += "no client certificate";
      break;
    case Outcome::Success:
      out += "client certificate verified";
      break;
    case Outcome::Failed:
      out += code ? core::spec(*code).code : std::string_view("mtls.cert_invalid");
      out += ": ";
      append_one_line(out, reason);
      if (openssl_error != 0) out += fmt::format(" (X509_V_ERR {})", openssl_error);
      if (depth >= 0) out += fmt::format(" at depth {}", depth);
      break;
  }
  if (!leaf.subject.empty() || !leaf.sha256.empty()) {
    out += "; leaf subject='";
    append_one_line(out, leaf.subject);
    out += "' issuer='";
    append_one_line(out, leaf.issuer);
    out += fmt::format("' serial={} sha256={}", leaf.serial, leaf.sha256);
  }
  if (!hint.empty()) {
    out += "; hint: ";
    append_one_line(out, hint);
  }
  if (issues.size() > 1) {
    out += "; all errors:";
    for (const VerifyIssue& issue : issues) {
      out += fmt::format(" [depth {} {}: ", issue.depth, core::spec(issue.code).code);
      append_one_line(out, issue.reason);
      if (!issue.subject.empty()) {
        out += " (";
        append_one_line(out, issue.subject);
        out += ')';
      }
      out += ']';
    }
  }
  return out;
}

std::string Verdict::ssl_client_verify() const {
  switch (outcome) {
    case Outcome::None:
      return "NONE";
    case Outcome::Success:
      return "SUCCESS";
    case Outcome::Failed:
      break;
  }
  return fmt::format("FAILED:{}",
                     core::spec(code.value_or(core::DenialCode::MtlsCertInvalid)).code);
}

}  // namespace portcullis::pki

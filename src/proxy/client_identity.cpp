// Client-certificate facts -> access log, Identity and upstream headers.
#include "proxy/client_identity.h"

#include <fmt/format.h>

#include <algorithm>

namespace portcullis::proxy {
namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

/// Header values must not carry CR/LF or other controls (a crafted subject could split the
/// request otherwise); they are percent-encoded.
std::string header_safe(std::string_view value) {
  const auto control = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  };
  if (std::none_of(value.begin(), value.end(), control)) return std::string(value);
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (control(c)) {
      fmt::format_to(std::back_inserter(out), "%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void record_client_cert(AccessRecord& record, const pki::Verdict& verdict) {
  record.ssl_client_verify = verdict.ssl_client_verify();
  record.client_subject = verdict.leaf.subject;
  record.client_issuer = verdict.leaf.issuer;
  record.client_serial = verdict.leaf.serial;
  record.client_sha256 = verdict.leaf.sha256;
}

core::Identity identity_from_certificate(const std::shared_ptr<const pki::Verdict>& verdict,
                                         std::string pem) {
  core::Identity id;
  id.method = "mtls";
  const pki::CertSummary& leaf = verdict->leaf;
  id.user = leaf.common_name.empty() ? leaf.subject : leaf.common_name;
  // Aliasing: the Identity keeps the verdict alive and points at its leaf (no copy).
  id.cert = std::shared_ptr<const core::CertIdentity>(verdict, &verdict->leaf);
  id.cert_pem = std::move(pem);
  return id;
}

void add_identity_headers(HeaderList& headers, const config::IdentityHeaders& names,
                          const core::Identity& identity, const pki::Verdict* verdict) {
  // A value is only computed for a header the route names (most name one or two).
  auto set = [&](const std::string& name, auto&& value_of) {
    if (name.empty()) return;
    const std::string value = value_of();
    if (!value.empty()) headers.set(name, header_safe(value));
  };
  if (identity.authenticated()) {
    set(names.user, [&] { return identity.user; });
    set(names.groups, [&] { return join(identity.groups, ","); });
  }
  if (identity.method == "mtls") {
    const core::CertIdentity& cert = identity.certificate();
    set(names.subject, [&] { return cert.subject; });
    set(names.issuer, [&] { return cert.issuer; });
    set(names.san, [&] { return join(cert.sans, ","); });
    set(names.fingerprint, [&] { return cert.sha256; });
    set(names.cert, [&] { return url_escape(identity.cert_pem); });
  }
  if (verdict != nullptr) set(names.verify, [&] { return verdict->ssl_client_verify(); });
}

std::string url_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out += c;
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", u);
    }
  }
  return out;
}

}  // namespace portcullis::proxy

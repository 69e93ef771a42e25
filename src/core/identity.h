// Identity: who the request is, as established by the authentication stage. Empty = anonymous.
// Filled by authenticators (mtls, basic, jwt, external) and read by authz, the access log and
// the identity headers sent upstream.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace portcullis::core {

/// What identifies a client certificate: the facts authz rules and identity headers use.
/// pki::CertSummary extends it, so an Identity can share the verdict's leaf instead of copying.
struct CertIdentity {
  std::string subject;      ///< RFC 2253
  std::string common_name;  ///< the subject's first CN, unescaped; "" without one
  std::string issuer;
  std::string serial;             ///< hex, upper case
  std::string sha256;             ///< hex, lower case, of the DER
  std::vector<std::string> sans;  ///< "DNS:x", "IP:1.2.3.4", "email:...", "URI:..."
};

struct Identity {
  std::string method;  ///< "mtls", "basic", "jwt", "external"; empty = anonymous
  std::string user;
  std::vector<std::string> groups;
  std::map<std::string, std::string> claims;
  /// The client certificate (mtls): shared with the connection's verdict, never copied per
  /// request; null without one.
  std::shared_ptr<const CertIdentity> cert;
  /// The client certificate as PEM, only when a route sends it upstream (identity_headers.cert).
  std::string cert_pem;
  /// Headers an external authorization service returned for the upstream (copy_headers).
  std::vector<std::pair<std::string, std::string>> upstream_headers;

  bool authenticated() const { return !method.empty(); }

  /// The certificate's facts, or empty facts when there is no certificate.
  const CertIdentity& certificate() const {
    static const CertIdentity none;
    return cert ? *cert : none;
  }
};

}  // namespace portcullis::core

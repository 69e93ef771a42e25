// Identity: who the request is, as established by the authentication stage. Empty = anonymous.
// Filled by authenticators (mtls, basic, jwt, external) and read by authz, the access log and
// the identity headers sent upstream.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace portcullis::core {

/// Certificate facts of an authenticated client certificate (or of a rejected one, for logs).
struct CertFacts {
  std::string subject;
  std::string issuer;
  std::string serial;
  std::string sha256;
  std::vector<std::string> sans;
  std::string pem;
};

struct Identity {
  std::string method;  ///< "mtls", "basic", "jwt", "external"; empty = anonymous
  std::string user;
  std::vector<std::string> groups;
  std::map<std::string, std::string> claims;
  CertFacts cert;
  /// Headers an external authorization service returned for the upstream (copy_headers).
  std::vector<std::pair<std::string, std::string>> upstream_headers;

  bool authenticated() const { return !method.empty(); }
};

}  // namespace portcullis::core

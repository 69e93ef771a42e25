// The demo/test PKI, generated in-process with OpenSSL: server root + intermediate + leaf for
// localhost/127.0.0.1/::1, client root + intermediate, and client certificates for every
// outcome the mTLS capability explains.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace portcullis::pki {

/// Subjects of the demo certificates (RFC 2253, as summarize() prints them).
inline constexpr std::string_view kDemoServerRootSubject =
    "CN=Portcullis Demo Server Root CA,O=Portcullis Demo";
inline constexpr std::string_view kDemoServerIntermediateSubject =
    "CN=Portcullis Demo Server Intermediate CA";
inline constexpr std::string_view kDemoServerLeafSubject = "CN=localhost";
inline constexpr std::string_view kDemoClientRootSubject = "CN=Portcullis Demo Client Root CA";
inline constexpr std::string_view kDemoClientIntermediateSubject =
    "CN=Portcullis Demo Client Intermediate CA";
inline constexpr std::string_view kDemoUntrustedRootSubject = "CN=Untrusted Demo Root CA";
inline constexpr std::string_view kDemoClientGoodSubject = "CN=demo-client";

/// File names (relative to `dir`) written by generate_demo_pki().
struct DemoPki {
  std::string dir;
  std::string server_root_ca = "server-root-ca.pem";  ///< trust this to reach the gateway
  std::string server_chain = "server-chain.pem";      ///< leaf + intermediate
  std::string server_key = "server.key";
  std::string client_ca_bundle = "client-ca-bundle.pem";          ///< client root (trusted_ca)
  std::string client_intermediates = "client-intermediates.pem";  ///< client intermediate
  std::string untrusted_root_ca = "untrusted-root-ca.pem";        ///< issuer of client-untrusted
  // Client certificates: <name>.pem (leaf + client intermediate) and <name>.key, for names:
  //   client-good, client-expired, client-not-yet-valid, client-no-clientauth (EKU serverAuth
  //   only), client-untrusted (issued by a CA not in the bundle), client-self-signed,
  //   client-leaf-only (a good leaf sent without its intermediate).
  // client-untrusted.pem holds the leaf and its untrusted root; client-self-signed.pem and
  // client-leaf-only.pem hold the leaf only. Leaf subjects: client-good is CN=demo-client, every
  // other one
  // CN=demo-<name> (CN=demo-client-expired, ...).

  /// "<dir>/<file>".
  std::string path(const std::string& file) const { return dir + "/" + file; }
};

/// The names of the demo client certificates, in the order above.
inline constexpr std::string_view kDemoClientNames[] = {
    "client-good",      "client-expired",     "client-not-yet-valid", "client-no-clientauth",
    "client-untrusted", "client-self-signed", "client-leaf-only"};

/// Generates every file of DemoPki into `dir` (created if missing; existing files replaced).
/// ECDSA P-256 keys, SHA-256 signatures. Keys are written with mode 0600.
core::Result<DemoPki> generate_demo_pki(const std::string& dir);

}  // namespace portcullis::pki

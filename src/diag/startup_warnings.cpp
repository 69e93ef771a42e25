// Start-up warnings: the same checks as the loading path, keeping only what does not refuse.
#include "diag/startup_warnings.h"

#include "diag/bundle_checks.h"
#include "diag/proxy_warnings.h"
#include "diag/server_chain.h"
#include "pki/cert_files.h"

namespace portcullis::diag {
namespace {

void add_all(std::vector<std::string>& out, const config::Origin& origin,
             const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) {
    out.push_back(core::Error{w, origin.path, origin.line}.to_string());
  }
}

void bundle_warnings(std::vector<std::string>& out, const config::FileRef& ref) {
  if (auto warnings = check_trust_bundle_for_loading(ref.path); warnings) {
    add_all(out, ref.origin, *warnings);
  }
}

}  // namespace

std::vector<std::string> startup_warnings(const config::Config& config, bool with_proxy) {
  std::vector<std::string> out;
  for (const config::ListenerConfig& l : config.listeners) {
    if (!l.tls) continue;
    if (auto certs = pki::load_certificates(l.tls->cert.path); certs) {
      if (auto warnings = check_server_chain(*certs, l.tls->cert.path); warnings) {
        add_all(out, l.tls->cert.origin, *warnings);
      }
    }
    const auto& auth = l.tls->client_auth;
    if (auth && auth->mode != config::ClientAuthMode::Off && auth->trusted_ca) {
      bundle_warnings(out, *auth->trusted_ca);
    }
  }
  for (const auto& [name, upstream] : config.upstreams) {
    if (upstream.tls && upstream.tls->ca) bundle_warnings(out, *upstream.tls->ca);
  }
  if (!with_proxy) return out;
  for (auto& w : proxy_warnings(config, core::ProxyEnv::from_environment(), read_hosts_file())) {
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace portcullis::diag

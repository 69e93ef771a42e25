// doctor: every upstream endpoint, external authenticator url and JWKS url resolvable and
// reachable through the proxy its own setting chooses (doctor_walk.cpp), and the internal
// targets sent through a proxy (the same diag::internal_targets_via_proxy as check-config).
#include "diag/doctor_reach.h"
#include "core/url.h"
#include "diag/proxy_warnings.h"

namespace portcullis::diag {
namespace {

std::string path_of(const std::optional<config::FileRef>& file) {
  return file ? file->path : std::string();
}

void reach_upstream(const config::UpstreamConfig& u, ReachContext& ctx) {
  for (const auto& e : u.endpoints) {
    ReachTarget t;
    t.what = "upstream " + u.name + " endpoint " + e.to_string();
    t.scheme = u.tls ? "https" : "http";
    t.host = e.host;
    t.port = e.port;
    t.connect_timeout = u.connect_timeout;
    if (u.tls) {
      t.tls_name = u.tls->sni;
      t.ca = path_of(u.tls->ca);
      t.tls_at = u.tls->origin;
    }
    t.proxy = u.proxy.setting;
    t.at = e.origin;
    t.proxy_at = u.proxy.origin;
    reach_target(t, ctx);
  }
}

/// A url target (external authenticator, JWKS); an unparseable url is the validation's to report.
bool url_target(const std::string& url, ReachTarget& t) {
  const auto parsed = core::parse_url(url);
  if (!parsed) return false;
  t.scheme = parsed->scheme;
  t.host = parsed->host;
  t.port = parsed->port;
  t.path = parsed->target;
  return true;
}

void reach_authenticator(const config::AuthenticatorConfig& a, ReachContext& ctx) {
  ReachTarget t;
  if (a.external) {
    const auto& x = *a.external;
    t.what = "external authenticator " + a.name + " " + x.url;
    if (!url_target(x.url, t)) return;
    t.ca = path_of(x.ca);
    t.cert = path_of(x.cert);
    t.key = path_of(x.key);
    t.connect_timeout = x.timeout;
    t.proxy = x.proxy.setting;
    t.at = a.origin;
    t.proxy_at = x.proxy.origin;
  } else if (a.jwt && !a.jwt->jwks.url.empty()) {
    const auto& jwks = a.jwt->jwks;
    t.what = "authenticator " + a.name + " JWKS " + jwks.url;
    if (!url_target(jwks.url, t)) return;
    t.ca = path_of(jwks.ca);
    t.connect_timeout = jwks.timeout;
    t.require_2xx = true;
    t.proxy = jwks.proxy.setting;
    t.at = jwks.origin;
    t.proxy_at = jwks.proxy.origin;
  } else {
    return;
  }
  reach_target(t, ctx);
}

}  // namespace

void check_reachability(const config::Config& config, const DoctorOptions& options,
                        DoctorReport& report) {
  ReachContext ctx{core::ProxyEnv::from_environment(), options, report, {}};
  for (const auto& w : internal_targets_via_proxy(config, ctx.env, read_hosts_file())) {
    report.findings.push_back(
        {"proxy.internal_target", Severity::Warning, origin_text(w.origin), w.message, w.fix});
  }
  for (const auto& [name, u] : config.upstreams) reach_upstream(u, ctx);
  for (const auto& [name, a] : config.authenticators) reach_authenticator(a, ctx);
}

}  // namespace portcullis::diag

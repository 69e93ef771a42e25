// doctor: every upstream endpoint and JWKS URL resolvable and reachable (with the probe's steps
// and the step that fails), internal targets that the environment's proxy would carry, and the
// local clock against the Date of the reachable HTTP targets.
#include <unistd.h>

#include "core/ip_network.h"
#include "core/proxy_select.h"
#include "diag/doctor.h"
#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

/// Private, loopback or link-local addresses, single-label names and the usual internal suffixes.
bool is_internal(const std::string& host) {
  if (const auto ip = core::IpAddress::parse(host)) {
    static const char* kNets[] = {"10.0.0.0/8",  "172.16.0.0/12",  "192.168.0.0/16",
                                  "127.0.0.0/8", "169.254.0.0/16", "::1/128",
                                  "fc00::/7",    "fe80::/10"};
    for (const char* n : kNets) {
      if (core::IpNetwork::parse(n)->contains(*ip)) return true;
    }
    return false;
  }
  if (host.find('.') == std::string::npos) return true;
  for (const char* suffix :
       {".local", ".internal", ".corp", ".lan", ".intranet", ".home.arpa", ".localdomain"}) {
    if (host.ends_with(suffix)) return true;
  }
  return false;
}

void add_step_findings(const ProbeStep& step, const std::string& what, const config::Origin& at,
                       DoctorReport& report) {
  for (const auto& p : step.problems) {
    report.findings.push_back(
        {"reach." + p.code, step.status == StepStatus::Fail ? Severity::Error : Severity::Warning,
         origin_text(at), what + ": " + step.name + " step: " + p.message, p.fix});
  }
}

/// The environment's proxy resolvable and accepting connections (once per proxy).
void check_proxy_reachable(const core::ProxyUrl& proxy, const config::Origin& at,
                           std::chrono::milliseconds timeout, DoctorReport& report) {
  const std::string what = "proxy " + proxy.display() + " (from the environment)";
  for (const auto& c : report.checked) {
    if (c == what) return;
  }
  report.checked.push_back(what);
  ProbeStep resolve;
  const auto addresses = step_resolve(proxy.host, proxy.port, resolve);
  add_step_findings(resolve, what, at, report);
  if (resolve.status == StepStatus::Fail) return;
  ProbeStep connect;
  Connection conn;
  conn.fd = step_connect(addresses, timeout, connect);
  add_step_findings(connect, what, at, report);
}

void check_proxy_for(const std::string& scheme, const std::string& host, const std::string& what,
                     const config::Origin& at, std::chrono::milliseconds timeout,
                     DoctorReport& report) {
  const auto env = core::ProxyEnv::from_environment();
  const auto choice = core::choose_proxy({core::ProxyMode::Env, {}}, scheme, host, env);
  if (!choice.proxy) return;
  check_proxy_reachable(*choice.proxy, at, timeout, report);
  if (!is_internal(host)) return;
  report.findings.push_back(
      {"proxy.internal_target", Severity::Warning, origin_text(at),
       what + " is an internal target, but the environment sends it through a proxy (" +
           choice.reason + "); proxies usually cannot reach internal hosts or demand 407",
       "add " + host + " (or its domain) to NO_PROXY"});
}

/// The local clock against the Date the target sent (probe's http step measured the skew).
void check_date(const ProbeStep& http, const std::string& what, const config::Origin& at,
                DoctorReport& report) {
  if (!http.data.contains("date_skew_seconds")) return;
  const long long skew = http.data["date_skew_seconds"];
  if (skew > 60 || skew < -60) {
    report.findings.push_back(
        {"clock.skew", Severity::Warning, origin_text(at),
         "this machine's clock differs by " + std::to_string(skew < 0 ? -skew : skew) +
             " s from the Date of " + what +
             ": certificates and tokens near their validity edges are judged differently",
         "synchronise the clocks with NTP (timedatectl, chronyc tracking)"});
  } else {
    report.checked.push_back("clock against " + what + " (" + std::to_string(skew) + " s)");
  }
}

void check_endpoint(const config::UpstreamConfig& u, const config::Endpoint& e,
                    const DoctorOptions& options, DoctorReport& report) {
  const std::string what = "upstream " + u.name + " endpoint " + e.to_string();
  report.checked.push_back(what);
  check_proxy_for(u.tls ? "https" : "http", e.host, what, e.origin, options.timeout, report);
  ProbeStep resolve;
  const auto addresses = step_resolve(e.host, e.port, resolve);
  add_step_findings(resolve, what, e.origin, report);
  if (resolve.status == StepStatus::Fail) return;
  ProbeStep connect;
  TlsObserver observer;  // outlives the connection: OpenSSL's callback points to it
  Connection conn;
  conn.fd = step_connect(addresses, std::min(options.timeout, u.connect_timeout), connect);
  add_step_findings(connect, what, e.origin, report);
  if (conn.fd < 0) return;
  ProbeOptions probe;
  probe.timeout = options.timeout;
  probe.now = options.now;
  Target target{u.tls ? "https" : "http", e.host, e.port, "/"};
  if (u.tls) {
    probe.ca = u.tls->ca ? u.tls->ca->path : std::string();
    if (!u.tls->sni.empty()) target.host = u.tls->sni;
    ProbeStep tls;
    step_tls(conn, target, probe, observer, tls);
    add_step_findings(tls, what, u.tls->origin, report);
    if (tls.status == StepStatus::Fail) return;
  }
  // Any answer will do (the upstream may have nothing at /): only its Date is compared.
  ProbeStep http;
  step_http(conn, target, probe, u.tls ? &observer : nullptr, http);
  check_date(http, what, e.origin, report);
}

void check_jwks(const config::AuthenticatorConfig& a, const DoctorOptions& options,
                DoctorReport& report) {
  const auto& jwks = a.jwt->jwks;
  const std::string what = "authenticator " + a.name + " JWKS " + jwks.url;
  report.checked.push_back(what);
  ProbeOptions probe;
  probe.url = jwks.url;
  probe.ca = jwks.ca ? jwks.ca->path : std::string();
  probe.timeout = options.timeout;
  probe.now = options.now;
  const ProbeReport result = run_probe(probe);
  for (const auto& step : result.steps) {
    if (step.name == "url" && !step.data.contains("host")) continue;
    if (step.name == "url") {
      check_proxy_for(step.data["scheme"], step.data["host"], what, jwks.origin, options.timeout,
                      report);
      continue;
    }
    if (step.name == "http" && step.data.contains("status")) {
      check_date(step, what, jwks.origin, report);
      if (result.exit_code() != 0)
        report.findings.push_back({"reach.jwks_status", Severity::Error, origin_text(jwks.origin),
                                   what + " answered " + step.summary,
                                   "check the JWKS URL (it must answer 200 with the keys)"});
      continue;
    }
    add_step_findings(step, what, jwks.origin, report);
  }
}

}  // namespace

void check_reachability(const config::Config& config, const DoctorOptions& options,
                        DoctorReport& report) {
  for (const auto& [name, u] : config.upstreams) {
    for (const auto& e : u.endpoints) check_endpoint(u, e, options, report);
  }
  for (const auto& [name, a] : config.authenticators) {
    if (a.jwt && !a.jwt->jwks.url.empty()) check_jwks(a, options, report);
  }
}

}  // namespace portcullis::diag

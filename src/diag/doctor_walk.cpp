// doctor: one outgoing target walked through the probe's steps, through the proxy its own
// setting chooses (core::choose_proxy, honouring NO_PROXY for `proxy: env`); each proxy is
// checked once and a target behind an unreachable proxy is not walked further.
#include "diag/doctor_reach.h"
#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

const config::Origin& or_at(const config::Origin& origin, const ReachTarget& t) {
  return origin.path.empty() ? t.at : origin;
}

/// Each problem of `step` as a `reach.<code>` finding (errors when the step failed).
void add_step_findings(const ProbeStep& step, const std::string& what, const config::Origin& at,
                       DoctorReport& report) {
  for (const auto& p : step.problems) {
    report.findings.push_back(
        {"reach." + p.code, step.status == StepStatus::Fail ? Severity::Error : Severity::Warning,
         origin_text(at), what + ": " + step.name + " step: " + p.message, p.fix});
  }
}

/// The proxy resolvable and accepting connections, checked once per proxy.
bool proxy_reachable(const core::ProxyChoice& choice, const ReachTarget& t, ReachContext& ctx) {
  const std::string key = choice.proxy->display();
  if (const auto seen = ctx.proxies.find(key); seen != ctx.proxies.end()) return seen->second;
  const std::string what = "proxy " + key + " (" + choice.reason + "; used by " + t.what + ")";
  ctx.report.checked.push_back("proxy " + key + " (" + choice.reason + ")");
  const auto& at = or_at(t.proxy_at, t);
  ProbeStep resolve;
  const auto addresses = step_resolve(choice.proxy->host, choice.proxy->port, resolve);
  add_step_findings(resolve, what, at, ctx.report);
  bool ok = resolve.status != StepStatus::Fail;
  if (ok) {
    ProbeStep connect;
    Connection conn;
    conn.fd = step_connect(addresses, ctx.options.timeout, connect);
    add_step_findings(connect, what, at, ctx.report);
    ok = conn.fd >= 0;
  }
  ctx.proxies[key] = ok;
  return ok;
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

}  // namespace

void reach_target(const ReachTarget& t, ReachContext& ctx) {
  DoctorReport& report = ctx.report;
  const auto choice = core::choose_proxy(t.proxy, t.scheme, t.host, ctx.env);
  const core::ProxyUrl* proxy = choice.proxy ? &*choice.proxy : nullptr;
  const std::string what =
      t.what + (proxy != nullptr ? " through proxy " + proxy->display() : std::string());
  report.checked.push_back(what);
  if (proxy != nullptr && !proxy_reachable(choice, t, ctx)) {
    report.checked.push_back(t.what + ": not walked, its proxy " + proxy->display() +
                             " is unreachable");
    return;
  }
  const auto& proxy_at = or_at(t.proxy_at, t);
  ProbeStep resolve;
  const auto addresses =
      step_resolve(proxy ? proxy->host : t.host, proxy ? proxy->port : t.port, resolve);
  add_step_findings(resolve, what, proxy ? proxy_at : t.at, report);
  if (resolve.status == StepStatus::Fail) return;
  ProbeStep connect;
  TlsObserver observer;  // outlives the connection: OpenSSL's callback points to it
  Connection conn;
  conn.fd = step_connect(addresses, std::min(ctx.options.timeout, t.connect_timeout), connect);
  add_step_findings(connect, what, proxy ? proxy_at : t.at, report);
  if (conn.fd < 0) return;

  ProbeOptions probe;
  probe.timeout = ctx.options.timeout;
  probe.now = ctx.options.now;
  probe.ca = t.ca;
  probe.cert = t.cert;
  probe.key = t.key;
  Target target{t.scheme, t.host, t.port, t.path};
  if (proxy != nullptr && target.https()) {
    ProbeStep tunnel;
    tunnel.name = "tunnel";
    const bool ok = step_tunnel(conn, target, *proxy, ctx.options.timeout, tunnel);
    for (auto& p : tunnel.problems)
      p.message = "CONNECT " + target.authority() + " through " + proxy->display() + " (" +
                  choice.reason + "): " + p.message;
    add_step_findings(tunnel, what, proxy_at, report);
    if (!ok) return;
  }
  if (target.https()) {
    if (!t.tls_name.empty()) target.host = t.tls_name;
    ProbeStep tls;
    step_tls(conn, target, probe, observer, tls);
    add_step_findings(tls, what, or_at(t.tls_at, t), report);
    if (tls.status == StepStatus::Fail) return;
  }
  // Any answer proves the target reachable (an upstream may have nothing at /, an auth service
  // answers 401 to a request without credentials); its Date is compared with the local clock.
  ProbeStep http;
  const core::ProxyUrl* forward = proxy != nullptr && !target.https() ? proxy : nullptr;
  const int status =
      step_http(conn, target, probe, target.https() ? &observer : nullptr, http, forward);
  if (http.data.contains("proxy_authenticate")) {
    for (auto& p : http.problems)
      p.message = "request through " + proxy->display() + " (" + choice.reason + "): " + p.message;
    add_step_findings(http, what, proxy_at, report);
    return;
  }
  if (status == 0) {
    add_step_findings(http, what, t.at, report);
    return;
  }
  check_date(http, what, t.at, report);
  if (t.require_2xx && (status < 200 || status >= 300)) {
    report.findings.push_back({"reach.jwks_status", Severity::Error, origin_text(t.at),
                               what + " answered " + http.summary,
                               "check the JWKS URL (it must answer 200 with the keys)"});
  } else {
    report.checked.push_back(what + " answered " + http.summary);
  }
}

}  // namespace portcullis::diag

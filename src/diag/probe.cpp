// `portcullis probe`: strings the steps together and stops at the first failing one.
#include "diag/probe.h"

#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

bool failed(const ProbeStep& step) {
  return step.status == StepStatus::Fail;
}

}  // namespace

ProbeReport run_probe(const ProbeOptions& options) {
  ProbeReport report;
  report.url = options.url;
  // At most 7 steps: reserving keeps the references below valid while steps are added.
  report.steps.reserve(8);
  auto add = [&report]() -> ProbeStep& { return report.steps.emplace_back(); };

  ProbeStep& url_step = add();
  const auto target = step_url(options, url_step);
  if (!target) return report;

  ProbeStep& proxy_step = add();
  const auto choice = step_proxy(options, *target, proxy_step);
  if (!choice) return report;
  const bool proxied = choice->proxy.has_value();
  const std::string dial_host = proxied ? choice->proxy->host : target->host;
  const uint16_t dial_port = proxied ? choice->proxy->port : target->port;

  ProbeStep& resolve_step = add();
  const auto addresses = step_resolve(dial_host, dial_port, resolve_step);
  if (proxied) resolve_step.summary = "proxy " + resolve_step.summary;
  if (failed(resolve_step)) return report;

  ProbeStep& connect_step = add();
  TlsObserver observer;  // outlives the connection: OpenSSL's callback points to it
  Connection conn;
  conn.fd = step_connect(addresses, options.timeout, connect_step);
  if (proxied) connect_step.summary = "proxy: " + connect_step.summary;
  if (conn.fd < 0) return report;

  if (proxied) {
    ProbeStep& tunnel_step = add();
    tunnel_step.name = "tunnel";
    const bool ok = step_tunnel(conn, *target, *choice->proxy, options.timeout, tunnel_step);
    tunnel_step.summary =
        ok ? "CONNECT " + target->authority() + " through " + choice->proxy->display() + ": 200"
           : "CONNECT through " + choice->proxy->display() + " refused";
    if (!ok) return report;
  }

  if (target->https()) {
    ProbeStep& tls_step = add();
    if (!step_tls(conn, *target, options, observer, tls_step)) return report;
  }

  ProbeStep& http_step = add();
  report.http_status =
      step_http(conn, *target, options, target->https() ? &observer : nullptr, http_step);
  return report;
}

}  // namespace portcullis::diag

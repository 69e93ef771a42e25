// Probe steps "proxy": which proxy (explicit, from the environment, bypassed by NO_PROXY, and
// why), and the CONNECT tunnel through it (a 407 with the schemes the proxy offers).
#include "diag/probe_steps.h"

namespace portcullis::diag {

std::optional<core::ProxyChoice> step_proxy(const ProbeOptions& options, const Target& target,
                                            ProbeStep& step) {
  step.name = "proxy";
  core::ProxySetting setting;
  if (options.proxy.empty()) {
    setting.mode = core::ProxyMode::Env;
  } else if (options.proxy != "none") {
    auto url = core::parse_proxy_url(options.proxy);
    if (!url) {
      step.problem("proxy.invalid", "--proxy: " + url.error().message,
                   "give --proxy http://[user:password@]host:port or --proxy none", true);
      return std::nullopt;
    }
    setting = {core::ProxyMode::Explicit, *url};
  }
  const auto env = core::ProxyEnv::from_environment();
  auto choice = core::choose_proxy(setting, target.scheme, target.host, env);
  step.summary = choice.reason;
  step.data["mode"] = options.proxy.empty()     ? "environment"
                      : options.proxy == "none" ? "none"
                                                : "explicit";
  step.data["proxy"] = choice.proxy ? nlohmann::ordered_json(choice.proxy->display())
                                    : nlohmann::ordered_json(nullptr);
  step.data["reason"] = choice.reason;
  if (choice.proxy && !target.https()) {
    step.problem("proxy.plain_http",
                 "the probe tunnels plain http:// through the proxy with CONNECT; many proxies "
                 "allow CONNECT to port 443 only",
                 "probe the https:// URL, or bypass the proxy with --proxy none", false);
  }
  return choice;
}

bool step_tunnel(Connection& conn, const Target& target, const core::ProxyUrl& proxy,
                 std::chrono::milliseconds timeout, ProbeStep& step) {
  std::string request =
      "CONNECT " + target.authority() + " HTTP/1.1\r\nHost: " + target.authority() + "\r\n";
  if (!proxy.user.empty())
    request += "Proxy-Authorization: " + basic_credentials(proxy.user, proxy.password) + "\r\n";
  request += "\r\n";
  if (const auto err = conn.write_all(request, timeout); !err.empty()) {
    step.problem("proxy.write", "sending CONNECT to the proxy failed: " + err,
                 "check the proxy address and port", true);
    return false;
  }
  std::string error;
  const std::string raw = conn.read_response(timeout, 0, error);
  const auto head = parse_http_head(raw);
  if (!head) {
    step.problem("proxy.no_response",
                 "the proxy did not answer CONNECT with HTTP" +
                     (error.empty() ? std::string() : " (" + error + ")"),
                 "check that " + proxy.display() + " is an HTTP proxy (not SOCKS, not TLS)", true);
    return false;
  }
  step.data["connect_status"] = head->status;
  step.facts.push_back("CONNECT " + target.authority() + " -> " + std::to_string(head->status) +
                       " " + head->reason);
  if (head->status == 200) return true;
  proxy_refusal(*head, proxy, step);
  return false;
}

void proxy_refusal(const HttpHead& head, const core::ProxyUrl& proxy, ProbeStep& step) {
  // Some proxies (tinyproxy) answer rejected credentials with 401 + WWW-Authenticate.
  if (head.status == 407 || head.status == 401) {
    auto challenges = head.all("Proxy-Authenticate");
    for (auto& c : head.all("WWW-Authenticate")) challenges.push_back(std::move(c));
    const auto schemes = auth_schemes(challenges);
    std::string list;
    for (const auto& s : schemes) list += (list.empty() ? "" : ", ") + s;
    step.data["proxy_authenticate"] = schemes;
    bool basic = false;
    for (const auto& s : schemes) basic = basic || strcasecmp(s.c_str(), "basic") == 0;
    std::string fix;
    if (proxy.user.empty()) {
      fix = "give the proxy credentials in its URL: http://USER:PASSWORD@" + proxy.host + ":" +
            std::to_string(proxy.port) + " (probe --proxy, the proxy: setting or HTTPS_PROXY)";
    } else if (!basic) {
      fix =
          "the proxy does not offer Basic, so these credentials will never be accepted; use a "
          "client that speaks " +
          list + " or ask for a Basic-enabled proxy account";
    } else {
      fix = "the proxy rejected the credentials for user '" + proxy.user +
            "': check user and password (percent-encode @ : / in the URL)";
    }
    step.problem("proxy.auth_required",
                 "the proxy demands authentication (" + std::to_string(head.status) +
                     "); it offers: " + (list.empty() ? std::string("no scheme") : list),
                 fix + "; or bypass the proxy for this host with NO_PROXY", true);
    return;
  }
  step.problem(
      "proxy.refused",
      "the proxy refused to open a tunnel: " + std::to_string(head.status) + " " + head.reason,
      head.status == 403 ? "the proxy's policy forbids this target or port; ask its "
                           "administrators, or bypass it with NO_PROXY"
                         : "the proxy could not reach the target; probe from a machine "
                           "without the proxy or read the proxy's log",
      true);
}

}  // namespace portcullis::diag

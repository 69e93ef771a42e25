// Internal targets behind an outbound proxy.
#include "diag/proxy_warnings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>

#include "core/ascii.h"
#include "core/ip_network.h"
#include "core/result.h"
#include "core/url.h"

namespace portcullis::diag {
namespace {

bool in_hosts_file(std::string_view host, std::string_view text) {
  const std::string wanted = core::ascii_lower(host);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    bool first = true;  // the address
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      const std::size_t start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      if (start == i) break;
      if (!first && core::ascii_lower(line.substr(start, i - start)) == wanted) return true;
      first = false;
    }
  }
  return false;
}

struct Target {
  std::string what;  ///< "upstream \"app\" endpoint 10.0.0.5:8080"
  std::string scheme;
  std::string host;
  const config::ProxyConfig* proxy;
  config::Origin origin;
};

}  // namespace

std::optional<std::string> internal_target_reason(std::string_view host,
                                                  std::string_view hosts_file) {
  if (auto ip = core::IpAddress::parse(host)) {
    if (ip->is_loopback()) return "a loopback address";
    static const std::array<std::pair<const char*, const char*>, 7> kRanges{{
        {"10.0.0.0/8", "a private address (10.0.0.0/8)"},
        {"172.16.0.0/12", "a private address (172.16.0.0/12)"},
        {"192.168.0.0/16", "a private address (192.168.0.0/16)"},
        {"100.64.0.0/10", "a shared (carrier-grade NAT) address (100.64.0.0/10)"},
        {"169.254.0.0/16", "a link-local address"},
        {"fc00::/7", "a unique-local IPv6 address (fc00::/7)"},
        {"fe80::/10", "a link-local address"},
    }};
    for (const auto& [cidr, reason] : kRanges) {
      if (auto net = core::IpNetwork::parse(cidr); net && net->contains(*ip)) return reason;
    }
    return std::nullopt;
  }
  if (host.find('.') == std::string_view::npos) return "a single-label host name";
  if (in_hosts_file(host, hosts_file)) return "a name listed in /etc/hosts";
  const std::string name =
      core::ascii_lower(host.ends_with('.') ? host.substr(0, host.size() - 1) : host);
  for (const char* suffix :
       {".internal", ".local", ".localdomain", ".lan", ".corp", ".intranet", ".home.arpa"}) {
    if (name.ends_with(suffix))
      return std::string("a name under ") + suffix + " (an internal-only domain)";
  }
  return std::nullopt;
}

std::string read_hosts_file() {
  std::string hosts;
  if (std::ifstream in("/etc/hosts"); in) {
    hosts.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return hosts;
}

std::vector<ProxyWarning> internal_targets_via_proxy(const config::Config& config,
                                                     const core::ProxyEnv& env,
                                                     std::string_view hosts_file) {
  std::vector<Target> targets;
  for (const auto& [name, up] : config.upstreams) {
    for (const auto& ep : up.endpoints) {
      targets.push_back({"upstream \"" + name + "\" endpoint " + ep.to_string(),
                         up.tls ? "https" : "http", ep.host, &up.proxy, ep.origin});
    }
  }
  for (const auto& [name, auth] : config.authenticators) {
    const std::string* url = nullptr;
    const config::ProxyConfig* proxy = nullptr;
    std::string what;
    if (auth.external) {
      url = &auth.external->url;
      proxy = &auth.external->proxy;
      what = "external authenticator \"" + name + "\"";
    } else if (auth.jwt && !auth.jwt->jwks.url.empty()) {
      url = &auth.jwt->jwks.url;
      proxy = &auth.jwt->jwks.proxy;
      what = "the JWKS url of \"" + name + "\"";
    }
    if (url == nullptr) continue;
    auto parsed = core::parse_url(*url);
    if (!parsed) continue;
    targets.push_back(
        {what + " (" + parsed->text() + ")", parsed->scheme, parsed->host, proxy, proxy->origin});
  }

  std::vector<ProxyWarning> out;
  for (const auto& t : targets) {
    if (!t.proxy->configured()) continue;
    const auto choice = core::choose_proxy(t.proxy->setting, t.scheme, t.host, env);
    if (!choice.proxy) continue;
    const auto reason = internal_target_reason(t.host, hosts_file);
    if (!reason) continue;
    out.push_back({t.proxy->origin, t.host,
                   t.what + " goes through proxy " + choice.proxy->display() + " (" +
                       choice.reason + ") although \"" + t.host + "\" is " + *reason +
                       ": a proxy usually cannot reach internal targets, the classic cause of "
                       "407 answers and timeouts",
                   "bypass it with proxy: none or a NO_PROXY entry"});
  }
  return out;
}

std::vector<std::string> proxy_warnings(const config::Config& config, const core::ProxyEnv& env,
                                        std::string_view hosts_file) {
  std::vector<std::string> out;
  for (const auto& w : internal_targets_via_proxy(config, env, hosts_file)) {
    out.push_back(core::Error{w.message + "; " + w.fix, w.origin.path, w.origin.line}.to_string());
  }
  return out;
}

}  // namespace portcullis::diag

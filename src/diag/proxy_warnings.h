// The classic cause of callbacks failing with 407 or timing out: an internal target (a
// single-label name, a name from /etc/hosts, a private address) sent through a corporate proxy
// that cannot reach it. Findings for check-config, `run` and doctor.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/proxy_select.h"

namespace portcullis::diag {

/// Why `host` looks internal, or nullopt: "a single-label host name", "a name listed in
/// /etc/hosts", "a name under .internal (an internal-only domain)", "a private address
/// (10.0.0.0/8)", "a loopback address", "a link-local address". The internal-only domains are
/// .internal, .local, .localdomain, .lan, .corp, .intranet and .home.arpa.
/// `hosts_file` is the text of /etc/hosts.
std::optional<std::string> internal_target_reason(std::string_view host,
                                                  std::string_view hosts_file);

/// An internal target that its proxy setting sends through a proxy.
struct ProxyWarning {
  config::Origin origin;  ///< the target's `proxy` setting
  std::string host;
  std::string message;  ///< what goes through which proxy, and why that is suspicious
  std::string fix;
};

/// The structured form of proxy_warnings() (doctor reports these as `proxy.internal_target`).
std::vector<ProxyWarning> internal_targets_via_proxy(const config::Config& config,
                                                     const core::ProxyEnv& env,
                                                     std::string_view hosts_file);

/// The text of /etc/hosts ("" when unreadable).
std::string read_hosts_file();

/// One warning per outgoing target (upstream endpoint, external url, JWKS url) whose proxy
/// setting sends it through a proxy although it looks internal, as "<yaml key>: line N: ...".
std::vector<std::string> proxy_warnings(const config::Config& config, const core::ProxyEnv& env,
                                        std::string_view hosts_file);

}  // namespace portcullis::diag

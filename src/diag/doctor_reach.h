// doctor's reachability walk, internal to src/diag: one outgoing target of the configuration
// (upstream endpoint, external authenticator url, JWKS url) taken through the probe's steps via
// the proxy its own setting chooses, and each proxy checked once.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "config/config.h"
#include "core/proxy_select.h"
#include "diag/doctor.h"

namespace portcullis::diag {

/// One target as the gateway would call it.
struct ReachTarget {
  std::string what;  ///< "upstream app endpoint 127.0.0.1:9000", "external authenticator check"
  std::string scheme;
  std::string host;
  uint16_t port = 0;
  std::string path = "/";
  std::string tls_name;   ///< the name TLS verifies (SNI); empty = host
  std::string ca;         ///< trust for https; empty = the system bundle
  std::string cert, key;  ///< client certificate presented (external authenticators)
  std::chrono::milliseconds connect_timeout{5000};
  bool require_2xx = false;  ///< JWKS: anything else is `reach.jwks_status`
  core::ProxySetting proxy;
  config::Origin at;        ///< where the target is configured
  config::Origin tls_at;    ///< where its TLS settings are (empty = `at`)
  config::Origin proxy_at;  ///< where its proxy setting is (empty = `at`)
};

/// What the walk shares: the environment's proxy variables and the proxies already checked.
struct ReachContext {
  core::ProxyEnv env;
  const DoctorOptions& options;
  DoctorReport& report;
  std::map<std::string, bool> proxies;  ///< display() -> resolvable and accepting connections
};

/// Walks one target: proxy choice, the proxy itself (once), resolve, connect, CONNECT tunnel or
/// absolute-form request through the proxy, TLS, HTTP and the Date against the local clock.
void reach_target(const ReachTarget& target, ReachContext& context);

}  // namespace portcullis::diag

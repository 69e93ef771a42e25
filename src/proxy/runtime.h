// The immutable serving snapshot built from a validated Config: compiled routers, header
// strippers, upstream table, metric handles and the access log. Workers share one snapshot
// through shared_ptr<const Runtime>; a reload builds a new one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "authn/assertion_signer.h"
#include "authz/policy.h"
#include "config/config.h"
#include "core/result.h"
#include "metrics/registry.h"
#include "proxy/access_log.h"
#include "proxy/authenticators.h"
#include "proxy/header_rules.h"
#include "route/router.h"

namespace portcullis::proxy {

struct RouteRuntime {
  const config::RouteConfig* config = nullptr;
  std::size_t upstream_index = 0;
  metrics::RouteCounters* counters = nullptr;
  authz::Policy policy;                   ///< compiled routes[].authz
  std::vector<RouteAuthenticator> authn;  ///< routes[].authn, in order
};

struct ListenerRuntime {
  const config::ListenerConfig* config = nullptr;
  route::Router router;
  std::vector<RouteRuntime> routes;
  IdentityHeaderStripper stripper;
  metrics::RouteCounters* unrouted = nullptr;  ///< requests that matched no route
  metrics::ListenerGauges* gauges = nullptr;
  bool tls = false;
  /// listeners[].tls.client_auth.mode (Off when there is no client_auth block).
  config::ClientAuthMode client_auth = config::ClientAuthMode::Off;
  int client_auth_denial_status = 400;
  bool wants_client_cert_pem = false;  ///< some route sends the leaf PEM upstream
};

struct Runtime {
  config::Config config;
  std::vector<const config::UpstreamConfig*> upstreams;  ///< index -> config
  std::vector<ListenerRuntime> listeners;                ///< same order as config.listeners
  metrics::Registry* metrics = nullptr;                  ///< outlives every runtime
  AccessLog access_log;
  std::shared_ptr<AuthenticatorSet> authenticators;
  /// Signs routes[].assertion (nullptr when no route has one and there is no assertion_signing).
  std::shared_ptr<const authn::AssertionSigner> assertion_signer;
};

/// Builds the snapshot. `metrics` must outlive it. `outbound` makes the JWKS fetchers and the
/// external callouts (see AuthenticatorSet::build).
core::Result<std::shared_ptr<const Runtime>> build_runtime(
    config::Config config, metrics::Registry& metrics, const OutboundFactories* outbound = nullptr);

}  // namespace portcullis::proxy

// Internal to src/config: one loader per top-level section of the schema. Each fills its part of
// Config and records errors in the node's Diagnostics; cross references are checked against the
// sections loaded before it (authenticators and upstreams load before listeners).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace portcullis::config {

/// `authenticators`: a map of name -> {type, ...}.
void load_authenticators(const Node& node, const std::string& base_dir,
                         std::map<std::string, AuthenticatorConfig>& out);

/// `upstreams`: a map of name -> {endpoints, timeouts, max_idle, tls}.
void load_upstreams(const Node& node, const std::string& base_dir,
                    std::map<std::string, UpstreamConfig>& out);

/// What a listener's routes may refer to.
struct RouteReferences {
  const std::map<std::string, AuthenticatorConfig>& authenticators;
  const std::map<std::string, UpstreamConfig>& upstreams;
};

/// `listeners`: a non-empty list of listeners with their TLS, limits and routes.
void load_listeners(const Node& node, const std::string& base_dir, const RouteReferences& refs,
                    std::vector<ListenerConfig>& out);

/// listeners[i].routes: the routes of one listener (`listener` is complete apart from routes).
void load_routes(const Node& node, const ListenerConfig& listener, const RouteReferences& refs,
                 std::vector<RouteConfig>& out);

/// routes[i].assertion: header, ttl, audience (`route` is loaded apart from the assertion: its
/// identity header names must not be reused).
void load_route_assertion(const Node& node, const RouteConfig& route, AssertionConfig& out);

/// `assertion_signing`: key file (readable here; its contents are checked when the signer is
/// built), rotate, issuer.
void load_assertion_signing(const Node& node, const std::string& base_dir,
                            AssertionSigningConfig& out);

/// routes[i].authz: a rule tree ({any: [...]}, {all: [...]}, conditions).
void load_authz(const Node& node, AuthzRuleConfig& out);

}  // namespace portcullis::config

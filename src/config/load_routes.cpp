// listeners[].routes: match, the authenticator chain (checked against the authenticators and
// the listener's client_auth), the upstream reference, the body limit, identity headers and the
// assertion (load_assertion.cpp).
#include <algorithm>
#include <cctype>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "config/endpoint.h"
#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"
#include "core/ip_network.h"
#include "core/request_target.h"

namespace portcullis::config {
namespace {

/// The name a route uses for the listener's client certificate verdict.
constexpr std::string_view kMtls = "mtls";

template <class Map>
std::string defined_names(const Map& map, std::string_view none) {
  if (map.empty()) return std::string(none);
  std::string out = "defined: ";
  bool first = true;
  for (const auto& [name, value] : map) {
    if (!first) out += ", ";
    out += name;
    first = false;
  }
  return out;
}

bool valid_host_pattern(std::string_view host) {
  if (host == "*") return true;
  if (host.starts_with("*.")) return is_dns_name(host.substr(2));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return core::IpAddress::parse(host).has_value();
  }
  // IPv6 needs the brackets it has in a Host header; anything else with ':' carries a port.
  if (host.find(':') != std::string_view::npos) return false;
  return is_dns_name(host) || core::IpAddress::parse(host).has_value();
}

void load_match(const Node& node, RouteMatch& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"host", "path_prefix"});
  const Node host = node.get("host");
  if (auto value = host.non_empty_text()) {
    if (valid_host_pattern(*value)) {
      out.host = *value;
    } else {
      host.error("invalid host " + quote(*value) +
                 " (use \"*\", \"*.example.com\", a host name or an IP address, without a port)");
    }
  }
  const Node prefix = node.get("path_prefix");
  if (auto value = prefix.non_empty_text()) {
    bool clean = true;
    for (const char c : *value) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f || c == '?' || c == '#') clean = false;
    }
    if (value->front() != '/') {
      prefix.error("path_prefix must start with \"/\", got " + quote(*value));
    } else if (!clean) {
      prefix.error(
          "path_prefix must be a plain path (no spaces, control characters, '?' or '#'), "
          "got " +
          quote(*value));
    } else if (auto bad = core::check_path_prefix(*value); !bad.empty()) {
      // Requests are routed by their normalised path (core/request_target.h): a prefix that is
      // not normalised itself would never match, or match less than it says.
      prefix.error("path_prefix " + quote(*value) + " " + bad);
    } else {
      out.path_prefix = *value;
    }
  }
}

/// "mtls" is the listener's client certificate verdict: only meaningful with client_auth on.
void check_mtls(const Node& item, const ListenerConfig& listener) {
  const std::string client_auth = listener.origin.path + ".tls.client_auth";
  if (!listener.tls || !listener.tls->client_auth) {
    item.error("\"mtls\" needs " + client_auth);
  } else if (listener.tls->client_auth->mode == ClientAuthMode::Off) {
    item.error("\"mtls\" needs " + client_auth + " with a mode other than off");
  }
}

void load_authn(const Node& route, const ListenerConfig& listener, const RouteReferences& refs,
                std::vector<std::string>& out) {
  const Node node = route.get("authn");
  // SECURITY: no default. Anonymous access has to be written down as [].
  if (!node.present()) {
    route.error("missing required key \"authn\" (it is required: use [] for anonymous access)");
    return;
  }
  if (node.is_null()) {
    node.error(
        "expected a list of authenticator names, got an empty value "
        "(required: use [] for anonymous access)");
    return;
  }
  if (!node.expect_list()) return;
  for (const Node& item : node.items()) {
    auto name = item.non_empty_text();
    if (!name) continue;
    if (std::find(out.begin(), out.end(), *name) != out.end()) {
      item.error("authenticator " + quote(*name) + " is listed twice");
      continue;
    }
    if (*name == kMtls) {
      check_mtls(item, listener);
    } else if (!refs.authenticators.contains(*name)) {
      item.error("unknown authenticator " + quote(*name) + " (" +
                 defined_names(refs.authenticators, "no authenticators are defined") + ")");
    }
    out.push_back(std::move(*name));
  }
}

void load_identity_headers(const Node& node, IdentityHeaders& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"user", "groups", "subject", "issuer", "san", "fingerprint", "verify", "cert"});
  const std::pair<std::string_view, std::string*> fields[] = {
      {"user", &out.user},     {"groups", &out.groups}, {"subject", &out.subject},
      {"issuer", &out.issuer}, {"san", &out.san},       {"fingerprint", &out.fingerprint},
      {"verify", &out.verify}, {"cert", &out.cert}};
  std::vector<std::pair<std::string, std::string_view>> used;  // lower-case header, field
  for (const auto& [field, target] : fields) {
    const Node header = node.get(field);
    auto name = read_header_name(header);
    if (!name) continue;
    std::string key = *name;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool duplicate = false;
    for (const auto& [seen, seen_field] : used) {
      if (seen == key) {
        header.error("header " + quote(*name) + " is already used for " + std::string(seen_field));
        duplicate = true;
      }
    }
    if (duplicate) continue;
    used.emplace_back(std::move(key), field);
    *target = std::move(*name);
  }
}

void load_route(const Node& node, const ListenerConfig& listener, const RouteReferences& refs,
                RouteConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys(
      {"name", "match", "authn", "authz", "upstream", "max_body", "identity_headers", "assertion"});
  if (auto name = read_name(node.require("name"))) out.name = *name;
  load_match(node.get("match"), out.match);
  load_authn(node, listener, refs, out.authn);
  if (const Node authz = node.get("authz"); authz.present()) {
    out.authz.emplace();
    load_authz(authz, *out.authz);
  }
  const Node upstream = node.require("upstream");
  if (auto name = upstream.non_empty_text()) {
    if (!refs.upstreams.contains(*name)) {
      upstream.error("unknown upstream " + quote(*name) + " (" +
                     defined_names(refs.upstreams, "no upstreams are defined") + ")");
    }
    out.upstream = std::move(*name);
  }
  if (auto v = read_size(node.get("max_body"), 0, std::numeric_limits<std::uint64_t>::max())) {
    out.max_body = *v;
  }
  load_identity_headers(node.get("identity_headers"), out.identity_headers);
  if (const Node assertion = node.get("assertion"); assertion.present()) {
    out.assertion.emplace();
    load_route_assertion(assertion, out, *out.assertion);
  }
}

}  // namespace

void load_routes(const Node& node, const ListenerConfig& listener, const RouteReferences& refs,
                 std::vector<RouteConfig>& out) {
  if (!node.expect_list()) return;
  for (const Node& item : node.items()) {
    RouteConfig route;
    load_route(item, listener, refs, route);
    for (const auto& seen : out) {
      if (!route.name.empty() && seen.name == route.name) {
        item.get("name").error("duplicate route name " + quote(route.name) + " (first at " +
                               seen.origin.path + ", line " + std::to_string(seen.origin.line) +
                               ")");
      }
    }
    out.push_back(std::move(route));
  }
}

}  // namespace portcullis::config

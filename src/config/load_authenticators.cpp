// The `authenticators` section: name -> {type, settings}. basic (htpasswd) and jwt (bearer
// tokens) are validated here, files included; `external` is a later capability and refuses to
// load (fail closed: a route must never run without the authentication it names).
#include <algorithm>
#include <array>
#include <string_view>

#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"

namespace portcullis::config {
namespace {

/// Authenticator types whose mechanism the gateway enforces in this build.
constexpr std::array<std::string_view, 2> kAvailableTypes{"basic", "jwt"};

constexpr std::array<std::string_view, 12> kJwtAlgorithms{"RS256", "RS384", "RS512", "PS256",
                                                          "PS384", "PS512", "ES256", "ES384",
                                                          "EdDSA", "HS256", "HS384", "HS512"};

bool available(std::string_view type) {
  return std::find(kAvailableTypes.begin(), kAvailableTypes.end(), type) != kAvailableTypes.end();
}

std::vector<std::string> read_string_list(const Node& node) {
  std::vector<std::string> out;
  if (!node.present()) return out;
  if (node.is_scalar()) {
    if (auto v = node.non_empty_text()) out.push_back(*v);
    return out;
  }
  if (!node.expect_list()) return out;
  for (const Node& item : node.items()) {
    if (auto v = item.non_empty_text()) out.push_back(*v);
  }
  return out;
}

void load_basic(const Node& node, const std::string& base_dir, BasicAuthConfig& out) {
  node.allow_keys({"type", "realm", "htpasswd", "groups", "lockout", "cache_ttl"});
  if (auto v = node.get("realm").non_empty_text()) out.realm = *v;
  if (auto f = read_file(node.require("htpasswd"), base_dir)) out.htpasswd = std::move(*f);
  if (const Node groups = node.get("groups"); groups.present()) {
    out.groups = read_file(groups, base_dir);
  }
  if (const Node lockout = node.get("lockout"); lockout.present()) {
    if (lockout.is_scalar()) {
      // `lockout: off` is the one scalar form; anything else must be the map.
      if (auto word = lockout.choice<bool>("lockout", {{"off", false}})) out.lockout = *word;
    } else if (lockout.expect_map()) {
      lockout.allow_keys({"failures", "window"});
      if (auto v = lockout.get("failures").integer(1, 1000)) {
        out.lockout_failures = static_cast<int>(*v);
      }
      if (auto v = read_duration(lockout.get("window"), Duration{1000})) out.lockout_window = *v;
    }
  }
  if (auto v = read_duration(node.get("cache_ttl"), Duration{0})) out.cache_ttl = *v;
}

void load_jwks(const Node& node, const std::string& base_dir, JwksConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"file", "url", "ca", "refresh_interval", "timeout"});
  const Node file = node.get("file");
  const Node url = node.get("url");
  if (file.present() == url.present()) {
    node.error("exactly one of \"file\" and \"url\" is required");
    return;
  }
  if (file.present()) out.file = read_file(file, base_dir);
  if (url.present()) {
    if (auto v = url.non_empty_text()) {
      // SECURITY: keys fetched in clear text could be replaced on the way.
      if (!v->starts_with("https://")) {
        url.error("the JWKS url must be https:// (got " + quote(*v) + ")");
      }
      out.url = *v;
    }
  }
  if (const Node ca = node.get("ca"); ca.present()) {
    if (!url.present()) ca.error("\"ca\" applies to a JWKS url only");
    out.ca = read_file(ca, base_dir);
  }
  if (auto v = read_duration(node.get("refresh_interval"), Duration{1000})) {
    out.refresh_interval = *v;
  }
  if (auto v = read_duration(node.get("timeout"), Duration{1})) out.timeout = *v;
}

void load_jwt(const Node& node, const std::string& base_dir, JwtAuthConfig& out) {
  node.allow_keys({"type", "realm", "issuer", "audiences", "jwks", "algorithms", "leeway",
                   "required_claims", "user_claim", "groups_claim"});
  if (auto v = node.get("realm").non_empty_text()) out.realm = *v;
  if (auto v = node.require("issuer").non_empty_text()) out.issuer = *v;
  const Node audiences = node.require("audiences");
  out.audiences = read_string_list(audiences);
  if (audiences.present() && out.audiences.empty()) audiences.error("expected at least one");
  load_jwks(node.require("jwks"), base_dir, out.jwks);
  const Node algorithms = node.require("algorithms");
  for (const Node& item :
       algorithms.present() && !algorithms.is_scalar() ? algorithms.items() : std::vector<Node>{}) {
    auto alg = item.non_empty_text();
    if (!alg) continue;
    if (std::find(kJwtAlgorithms.begin(), kJwtAlgorithms.end(), *alg) == kJwtAlgorithms.end()) {
      // SECURITY: "none" is never an algorithm.
      item.error("unsupported algorithm " + quote(*alg) +
                 " (expected: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, "
                 "HS256, HS384, HS512)");
      continue;
    }
    out.algorithms.push_back(*alg);
  }
  if (algorithms.present() && (algorithms.is_scalar() || algorithms.items().empty())) {
    algorithms.error("expected a non-empty list of algorithms");
  }
  if (auto v = read_duration(node.get("leeway"), Duration{0})) out.leeway = *v;
  out.required_claims = read_string_list(node.get("required_claims"));
  if (auto v = node.get("user_claim").non_empty_text()) out.user_claim = *v;
  if (auto v = node.get("groups_claim").non_empty_text()) out.groups_claim = *v;
}

}  // namespace

void load_authenticators(const Node& node, const std::string& base_dir,
                         std::map<std::string, AuthenticatorConfig>& out) {
  if (!node.expect_map()) return;
  for (const auto& [name, entry] : node.entries()) {
    AuthenticatorConfig auth;
    auth.name = name;
    auth.origin = entry.origin();
    if (name == "mtls") {
      entry.error("the name \"mtls\" is reserved for the listener's client certificate verdict");
    } else if (auto error = name_error(name)) {
      entry.error(std::move(*error));
    }
    if (entry.expect_map()) {
      const Node type_node = entry.require("type");
      const auto type = type_node.choice<std::string_view>(
          "authenticator type", {{"basic", "basic"}, {"jwt", "jwt"}, {"external", "external"}});
      if (type) {
        auth.type = std::string(*type);
        // SECURITY: an authenticator the build cannot run must not load, or its routes would
        // be configured but unenforced.
        if (!available(*type)) {
          type_node.error("authenticator type \"" + std::string(*type) +
                          "\" is not available in this build");
        }
        if (*type == "basic") {
          load_basic(entry, base_dir, auth.basic.emplace());
        } else if (*type == "jwt") {
          load_jwt(entry, base_dir, auth.jwt.emplace());
        }
      }
    }
    // Registered even when broken, so routes naming it do not add a second, misleading error.
    out.emplace(name, std::move(auth));
  }
}

}  // namespace portcullis::config

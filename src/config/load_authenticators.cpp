// The `authenticators` section: name -> {type, settings}. basic (htpasswd), jwt (bearer tokens)
// and external (an authorization-service callout) are validated here, files included.
#include <algorithm>
#include <array>
#include <string_view>

#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"
#include "core/url.h"

namespace portcullis::config {
namespace {

/// Authenticator types whose mechanism the gateway enforces in this build.
constexpr std::array<std::string_view, 3> kAvailableTypes{"basic", "jwt", "external"};

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
  node.allow_keys({"file", "url", "ca", "refresh_interval", "timeout", "proxy"});
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
  if (const Node proxy = node.get("proxy"); proxy.present()) {
    if (!url.present()) proxy.error("\"proxy\" applies to a JWKS url only");
    if (auto p = read_proxy(proxy)) out.proxy = std::move(*p);
  }
}

void load_external(const Node& node, const std::string& base_dir, ExternalAuthConfig& out) {
  node.allow_keys({"type", "url", "ca", "cert", "key", "timeout", "forward_headers", "copy_headers",
                   "user_header", "groups_header", "pass_body", "denial_status", "failure_mode",
                   "cache_ttl", "proxy"});
  const Node url = node.require("url");
  if (auto v = url.non_empty_text()) {
    if (auto parsed = core::parse_url(*v); !parsed) {
      url.error(parsed.error().message);
    } else {
      out.url = *v;
      if (!parsed->https()) {
        for (const char* key : {"ca", "cert", "key"}) {
          if (const Node n = node.get(key); n.present()) {
            n.error("\"" + std::string(key) + "\" applies to an https:// url only");
          }
        }
      }
    }
  }
  if (const Node ca = node.get("ca"); ca.present()) out.ca = read_file(ca, base_dir);
  const Node cert = node.get("cert");
  const Node key = node.get("key");
  if (cert.present() != key.present()) {
    (cert.present() ? cert : node).error("\"cert\" and \"key\" go together");
  }
  if (cert.present()) out.cert = read_file(cert, base_dir);
  if (key.present()) out.key = read_file(key, base_dir);
  if (auto v = read_duration(node.get("timeout"), Duration{1})) out.timeout = *v;
  auto header_list = [](const Node& list, std::vector<std::string>& into) {
    if (!list.present()) return;
    into.clear();
    if (!list.expect_list()) return;
    for (const Node& item : list.items()) {
      auto name = item.non_empty_text();
      if (!name) continue;
      if (!is_http_token(*name)) {
        item.error("invalid header name " + quote(*name));
        continue;
      }
      into.push_back(*name);
    }
  };
  header_list(node.get("forward_headers"), out.forward_headers);
  const Node copy = node.get("copy_headers");
  if (copy.present() && copy.expect_list()) {
    for (const Node& item : copy.items()) {
      // Copied headers reach the upstream as identity: the same rules as identity_headers.
      if (auto name = read_header_name(item)) out.copy_headers.push_back(*name);
    }
  }
  if (const Node n = node.get("user_header"); n.present()) {
    if (auto name = read_header_name(n)) out.user_header = *name;
  }
  if (const Node n = node.get("groups_header"); n.present()) {
    if (auto name = read_header_name(n)) out.groups_header = *name;
  }
  if (auto v = node.get("pass_body").boolean()) out.pass_body = *v;
  if (auto v = node.get("denial_status").integer(400, 599))
    out.denial_status = static_cast<int>(*v);
  if (auto v = node.get("failure_mode")
                   .choice<bool>("failure mode", {{"deny", false}, {"allow", true}})) {
    out.fail_open = *v;
  }
  if (auto v = read_duration(node.get("cache_ttl"), Duration{0})) out.cache_ttl = *v;
  if (auto p = read_proxy(node.get("proxy"))) out.proxy = std::move(*p);
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
        } else if (*type == "external") {
          load_external(entry, base_dir, auth.external.emplace());
        }
      }
    }
    // Registered even when broken, so routes naming it do not add a second, misleading error.
    out.emplace(name, std::move(auth));
  }
}

}  // namespace portcullis::config

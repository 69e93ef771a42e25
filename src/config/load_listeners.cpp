// The `listeners` section: name, address, server TLS with client certificate settings, and
// per-connection limits. Routes are loaded by load_routes.cpp.
#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"

namespace portcullis::config {
namespace {

constexpr std::uint64_t kMinHeaderBytes = 1024;
constexpr std::uint64_t kMaxHeaderBytes = 1024 * 1024;

void load_client_auth(const Node& node, const std::string& base_dir, ClientAuthConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"mode", "trusted_ca", "intermediates", "verify_depth", "require_client_auth_eku",
                   "verify_issuer_dn", "crl", "denial_status"});
  // `mode` is required: a client_auth block whose mode defaulted to off would look protected.
  const Node mode_node = node.require("mode");
  const auto mode = mode_node.choice<ClientAuthMode>(
      "mode", {{"off", ClientAuthMode::Off},
               {"request", ClientAuthMode::Request},
               {"require", ClientAuthMode::Require},
               {"require_handshake", ClientAuthMode::RequireHandshake}});
  if (mode) out.mode = *mode;

  if (const Node ca = node.get("trusted_ca"); ca.present()) {
    out.trusted_ca = read_file(ca, base_dir);
  } else if (mode && *mode != ClientAuthMode::Off) {
    node.error(
        "missing required key \"trusted_ca\" (the CA bundle client certificates are "
        "verified against; required unless mode is off)");
  }
  if (const Node n = node.get("intermediates"); n.present()) {
    out.intermediates = read_file(n, base_dir);
  }
  if (const Node n = node.get("crl"); n.present()) out.crl = read_file(n, base_dir);
  if (auto v = node.get("verify_depth").integer(1, 32)) out.verify_depth = static_cast<int>(*v);
  if (auto v = node.get("require_client_auth_eku").boolean()) out.require_client_auth_eku = *v;
  if (auto v = node.get("verify_issuer_dn").boolean()) out.verify_issuer_dn = *v;
  if (auto v = node.get("denial_status").integer(400, 499)) {
    out.denial_status = static_cast<int>(*v);
  }
}

void load_tls(const Node& node, const std::string& base_dir, ServerTlsConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"cert", "key", "client_auth"});
  if (auto cert = read_file(node.require("cert"), base_dir)) out.cert = std::move(*cert);
  if (auto key = read_file(node.require("key"), base_dir)) out.key = std::move(*key);
  if (const Node client_auth = node.get("client_auth"); client_auth.present()) {
    out.client_auth.emplace();
    load_client_auth(client_auth, base_dir, *out.client_auth);
  }
}

void load_limits(const Node& node, ListenerLimits& out) {
  if (!node.expect_map()) return;
  node.allow_keys(
      {"max_header_bytes", "header_timeout", "idle_timeout", "body_timeout", "handshake_timeout"});
  if (auto v = read_size(node.get("max_header_bytes"), kMinHeaderBytes, kMaxHeaderBytes)) {
    out.max_header_bytes = *v;
  }
  if (auto v = read_duration(node.get("header_timeout"), Duration{1})) out.header_timeout = *v;
  if (auto v = read_duration(node.get("idle_timeout"), Duration{1})) out.idle_timeout = *v;
  if (auto v = read_duration(node.get("body_timeout"), Duration{1})) out.body_timeout = *v;
  if (auto v = read_duration(node.get("handshake_timeout"), Duration{1})) {
    out.handshake_timeout = *v;
  }
}

void load_normalization(const Node& node, RequestNormalization& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"header_underscores", "encoded_slash"});
  if (const Node u = node.get("header_underscores"); u.present()) {
    if (auto v = u.choice<RequestNormalization::Underscores>(
            "header_underscores", {{"drop", RequestNormalization::Underscores::Drop},
                                   {"reject", RequestNormalization::Underscores::Reject}})) {
      out.header_underscores = *v;
    }
  }
  if (const Node slash = node.get("encoded_slash"); slash.present()) {
    if (auto v = slash.choice<bool>("encoded_slash", {{"reject", false}, {"keep", true}})) {
      out.keep_encoded_slash = *v;
    }
  }
}

void load_listener(const Node& node, const std::string& base_dir, const RouteReferences& refs,
                   ListenerConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"name", "listen", "tls", "limits", "request_normalization", "routes"});
  if (auto name = read_name(node.require("name"))) out.name = *name;
  if (auto listen = read_endpoint(node.require("listen"), EndpointKind::Listen)) {
    out.listen = std::move(*listen);
  }
  if (const Node tls = node.get("tls"); tls.present()) {
    out.tls.emplace();
    load_tls(tls, base_dir, *out.tls);
  }
  load_limits(node.get("limits"), out.limits);
  load_normalization(node.get("request_normalization"), out.normalization);
  load_routes(node.get("routes"), out, refs, out.routes);
}

}  // namespace

void load_listeners(const Node& node, const std::string& base_dir, const RouteReferences& refs,
                    std::vector<ListenerConfig>& out) {
  if (!node.expect_list()) return;
  const auto items = node.items();
  if (items.empty()) node.error("at least one listener is required");
  for (const Node& item : items) {
    ListenerConfig listener;
    load_listener(item, base_dir, refs, listener);
    const Node name = item.get("name");
    for (const auto& seen : out) {
      if (!listener.name.empty() && seen.name == listener.name) {
        name.error("duplicate listener name " + quote(listener.name) + " (first at " +
                   seen.origin.path + ", line " + std::to_string(seen.origin.line) + ")");
      }
    }
    out.push_back(std::move(listener));
  }
}

}  // namespace portcullis::config

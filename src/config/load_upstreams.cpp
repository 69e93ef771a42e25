// The `upstreams` section: where routes forward to, with connect/response timeouts, the idle
// pool size and optional TLS towards the upstream.
#include "config/endpoint.h"
#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"
#include "core/ip_network.h"

namespace portcullis::config {
namespace {

constexpr std::int64_t kMaxIdleLimit = 65'536;

void load_upstream_tls(const Node& node, const std::string& base_dir, UpstreamTlsConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"ca", "sni"});
  if (const Node ca = node.get("ca"); ca.present()) out.ca = read_file(ca, base_dir);
  const Node sni = node.get("sni");
  if (auto name = sni.non_empty_text()) {
    // RFC 6066: SNI carries a DNS name, never an IP literal.
    if (core::IpAddress::parse(*name) || !is_dns_name(*name)) {
      sni.error("sni must be a DNS name, got " + quote(*name));
    } else {
      out.sni = *name;
    }
  }
}

void load_upstream(const Node& node, const std::string& base_dir, UpstreamConfig& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"endpoints", "connect_timeout", "response_timeout", "max_idle", "tls", "proxy"});

  const Node endpoints = node.require("endpoints");
  if (endpoints.expect_list()) {
    const auto items = endpoints.items();
    if (items.empty()) endpoints.error("must list at least one endpoint (host:port)");
    for (const Node& item : items) {
      auto endpoint = read_endpoint(item, EndpointKind::Connect);
      if (!endpoint) continue;
      for (const auto& seen : out.endpoints) {
        if (seen.host == endpoint->host && seen.port == endpoint->port) {
          item.error("duplicate endpoint " + quote(endpoint->to_string()) + " (first at " +
                     seen.origin.path + ")");
        }
      }
      out.endpoints.push_back(std::move(*endpoint));
    }
  }
  if (auto v = read_duration(node.get("connect_timeout"), Duration{1})) out.connect_timeout = *v;
  if (auto v = read_duration(node.get("response_timeout"), Duration{1})) out.response_timeout = *v;
  if (auto v = node.get("max_idle").integer(0, kMaxIdleLimit)) out.max_idle = static_cast<int>(*v);
  if (const Node tls = node.get("tls"); tls.present()) {
    out.tls.emplace();
    load_upstream_tls(tls, base_dir, *out.tls);
  }
  if (auto proxy = read_proxy(node.get("proxy"))) out.proxy = std::move(*proxy);
}

}  // namespace

void load_upstreams(const Node& node, const std::string& base_dir,
                    std::map<std::string, UpstreamConfig>& out) {
  if (!node.expect_map()) return;
  for (const auto& [name, entry] : node.entries()) {
    UpstreamConfig upstream;
    upstream.name = name;
    upstream.origin = entry.origin();
    if (auto error = name_error(name)) entry.error(std::move(*error));
    load_upstream(entry, base_dir, upstream);
    // Registered even when broken, so routes naming it do not add a second, misleading error.
    out.emplace(name, std::move(upstream));
  }
}

}  // namespace portcullis::config

// load_config / load_config_text: reads the file, parses the YAML, loads the top-level sections
// (workers, shutdown_timeout, admin, log, errors here; the rest in load_*.cpp), checks that no two
// addresses collide, and reports the earliest error in the file.
#include <exception>
#include <new>
#include <optional>

#include "config/config.h"
#include "config/files.h"
#include "config/quote.h"
#include "config/schema_values.h"
#include "config/sections.h"
#include "config/yaml_reader.h"
#include "config/yaml_tree.h"
#include "core/ip_network.h"

namespace portcullis::config {
namespace {

constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
constexpr std::int64_t kMaxWorkers = 1024;

void load_admin(const Node& node, AdminConfig& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"listen"});
  if (const Node listen = node.get("listen"); listen.present()) {
    out.listen = read_endpoint(listen, EndpointKind::Listen);
  }
}

void load_log(const Node& node, const std::string& base_dir, LogConfig& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"access", "level"});
  const Node access = node.get("access");
  if (auto target = access.non_empty_text()) {
    if (*target == "stdout") {
      out.access = AccessLogTarget::Stdout;
    } else if (*target == "stderr") {
      out.access = AccessLogTarget::Stderr;
    } else if (*target == "off") {
      out.access = AccessLogTarget::Off;
    } else {
      const std::string path = resolve_path(base_dir, *target);
      if (auto error = check_writable_location(path)) {
        access.error(std::move(*error));
      } else {
        out.access = AccessLogTarget::File;
        out.access_file = path;
      }
    }
  }
  if (auto level =
          node.get("level").choice<core::LogLevel>("level", {{"debug", core::LogLevel::Debug},
                                                             {"info", core::LogLevel::Info},
                                                             {"warn", core::LogLevel::Warn},
                                                             {"error", core::LogLevel::Error}})) {
    out.level = *level;
  }
}

void load_errors(const Node& node, ErrorsConfig& out) {
  if (!node.expect_map()) return;
  node.allow_keys({"detail", "detail_networks"});
  if (auto detail =
          node.get("detail").choice<DetailMode>("detail mode", {{"local", DetailMode::Local},
                                                                {"always", DetailMode::Always},
                                                                {"never", DetailMode::Never}})) {
    out.detail = *detail;
  }
  const Node networks = node.get("detail_networks");
  if (!networks.expect_list()) return;
  for (const Node& item : networks.items()) {
    auto text = item.non_empty_text();
    if (!text) continue;
    if (auto network = core::IpNetwork::parse(*text)) {
      out.detail_networks.push_back(*network);
    } else {
      item.error("invalid network " + quote(*text) +
                 " (expected an address or a CIDR such as 10.0.0.0/8 or fd00::/8)");
    }
  }
}

bool is_unspecified(const core::IpAddress& address) {
  for (std::size_t i = address.is_v4() ? 12 : 0; i < 16; ++i) {
    if (address.bytes[i] != 0) return false;
  }
  return true;
}

/// Whether two binds on the same port collide: the same address, or a wildcard covering the
/// other ("::" covers IPv4 too on a dual-stack socket).
bool overlaps(const core::IpAddress& a, const core::IpAddress& b) {
  if (a.bytes == b.bytes) return true;
  const auto covers = [](const core::IpAddress& wildcard, const core::IpAddress& other) {
    return is_unspecified(wildcard) && (!wildcard.is_v4() || other.is_v4());
  };
  return covers(a, b) || covers(b, a);
}

/// Listener and admin addresses must not collide (SO_REUSEPORT would otherwise let two of
/// them bind and split connections between them). Port 0 picks a free port and never collides.
void check_addresses(const Config& config, Diagnostics& diagnostics) {
  std::vector<const Endpoint*> endpoints;
  for (const auto& listener : config.listeners) {
    if (!listener.listen.origin.path.empty()) endpoints.push_back(&listener.listen);
  }
  if (config.admin.listen) endpoints.push_back(&*config.admin.listen);
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const Endpoint& a = *endpoints[j];
      const Endpoint& b = *endpoints[i];
      if (a.port != b.port || a.port == 0) continue;
      const auto ip_a = core::IpAddress::parse(a.host);
      const auto ip_b = core::IpAddress::parse(b.host);
      if (!ip_a || !ip_b || !overlaps(*ip_a, *ip_b)) continue;
      const std::string what = ip_a->bytes == ip_b->bytes ? " is already used by " : " overlaps ";
      diagnostics.add("address " + b.to_string() + what + a.origin.path + " (" + a.to_string() +
                          ", line " + std::to_string(a.origin.line) + ")",
                      b.origin.path, b.origin.line);
      break;
    }
  }
}

Config load_document(const YamlValue& document, const std::string& base_dir,
                     Diagnostics& diagnostics) {
  Config config;
  const Node root = Node::root(document, diagnostics);
  if (!root.expect_map()) return config;
  root.allow_keys({"workers", "shutdown_timeout", "fast_lane", "admin", "log", "errors",
                   "listeners", "authenticators", "upstreams", "assertion_signing"});
  if (auto v = root.get("workers").integer(1, kMaxWorkers)) config.workers = static_cast<int>(*v);
  if (auto v = root.get("fast_lane").boolean()) config.fast_lane = *v;
  if (auto v = read_duration(root.get("shutdown_timeout"), Duration{0})) {
    config.shutdown_timeout = *v;
  }
  load_admin(root.get("admin"), config.admin);
  load_log(root.get("log"), base_dir, config.log);
  load_errors(root.get("errors"), config.errors);
  if (const Node signing = root.get("assertion_signing"); signing.present()) {
    load_assertion_signing(signing, base_dir, config.assertion_signing);
  }
  // Authenticators and upstreams first: routes refer to them.
  load_authenticators(root.get("authenticators"), base_dir, config.authenticators);
  load_upstreams(root.get("upstreams"), base_dir, config.upstreams);
  const Node listeners = root.get("listeners");
  if (listeners.present()) {
    load_listeners(listeners, base_dir, RouteReferences{config.authenticators, config.upstreams},
                   config.listeners);
  } else {
    root.error("missing required key \"listeners\" (at least one listener is required)");
  }
  check_addresses(config, diagnostics);
  return config;
}

}  // namespace

core::Result<Config> load_config(const std::string& file) {
  std::string dir;
  try {
    dir = directory_of(file);
  } catch (const std::exception& e) {
    return core::fail(std::string("cannot resolve the config file's directory: ") + e.what(), file);
  }
  auto text = read_small_file(file, kMaxConfigBytes);
  if (!text) return core::fail("cannot read config file: " + text.error().message, file);
  return load_config_text(*text, dir, file);
}

core::Result<Config> load_config_text(const std::string& text, const std::string& base_dir,
                                      const std::string& file) {
  try {
    auto document = parse_yaml(text);
    if (!document) {
      core::Error error = std::move(document.error());
      if (error.where.empty()) error.where = file;
      return std::unexpected(std::move(error));
    }
    if (document->kind == YamlValue::Kind::Null) {
      return core::fail("the configuration is empty (at least one listener is required)", file);
    }
    Diagnostics diagnostics;
    const std::string dir = absolute_dir(base_dir);
    Config config = load_document(*document, dir, diagnostics);
    if (!diagnostics.empty()) {
      core::Error error = diagnostics.first();
      if (error.where.empty()) error.where = file;
      return std::unexpected(std::move(error));
    }
    config.file = file;
    config.base_dir = dir;
    return config;
  } catch (const std::bad_alloc&) {
    return core::fail("out of memory while loading the configuration", file);
  } catch (const std::exception& e) {
    return core::fail(std::string("unexpected error while loading the configuration: ") + e.what(),
                      file);
  }
}

}  // namespace portcullis::config

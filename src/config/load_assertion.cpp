// The signed identity assertion's configuration: routes[].assertion (header, ttl, audience) and the
// top-level assertion_signing block (key file, rotation period, issuer). The key file's contents
// (EC P-256, not encrypted) are checked where the signer is built (authn/assertion_signer.cpp).
#include <algorithm>
#include <cctype>
#include <string_view>

#include "config/schema_values.h"
#include "config/sections.h"
#include "config/units.h"

namespace portcullis::config {
namespace {

constexpr Duration kMinTtl{1'000};
constexpr Duration kMaxTtl{3'600'000};
constexpr Duration kMinRotate{1'000};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The route's identity header that already uses `header` (case-insensitive), or "".
std::string_view identity_field_using(const IdentityHeaders& h, std::string_view header) {
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"user", &h.user},     {"groups", &h.groups}, {"subject", &h.subject},
      {"issuer", &h.issuer}, {"san", &h.san},       {"fingerprint", &h.fingerprint},
      {"verify", &h.verify}, {"cert", &h.cert}};
  const std::string wanted = lower(header);
  for (const auto& [field, name] : fields) {
    if (!name->empty() && lower(*name) == wanted) return field;
  }
  return {};
}

}  // namespace

void load_route_assertion(const Node& node, const RouteConfig& route, AssertionConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"header", "ttl", "audience"});
  const Node header = node.get("header");
  if (auto name = read_header_name(header)) {
    if (const auto field = identity_field_using(route.identity_headers, *name); !field.empty()) {
      header.error("header " + quote(*name) + " is already used for identity_headers." +
                   std::string(field));
    } else {
      out.header = std::move(*name);
    }
  }
  const Node ttl = node.get("ttl");
  if (auto value = read_duration(ttl, kMinTtl)) {
    if (*value > kMaxTtl) {
      ttl.error("must be at most " + format_duration(kMaxTtl) + ", got " + format_duration(*value));
    } else if (value->count() % 1000 != 0) {
      ttl.error("must be a whole number of seconds (JWT times are seconds), got " +
                format_duration(*value));
    } else {
      out.ttl = std::chrono::duration_cast<std::chrono::seconds>(*value);
    }
  }
  // SECURITY: no default audience: an assertion for one backend must not be accepted by another.
  if (auto audience = node.require("audience").non_empty_text())
    out.audience = std::move(*audience);
}

void load_assertion_signing(const Node& node, const std::string& base_dir,
                            AssertionSigningConfig& out) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  node.allow_keys({"key", "rotate", "issuer"});
  if (const Node key = node.get("key"); key.present()) out.key = read_file(key, base_dir);
  const Node rotate = node.get("rotate");
  if (auto value = read_duration(rotate, kMinRotate)) {
    if (out.key) {
      rotate.error(
          "rotate applies to generated keys only: a key from a file is never rotated (remove "
          "rotate, or remove key to let the gateway generate and rotate its keys)");
    } else {
      out.rotate = *value;
    }
  }
  if (auto issuer = node.get("issuer").non_empty_text()) out.issuer = std::move(*issuer);
}

}  // namespace portcullis::config

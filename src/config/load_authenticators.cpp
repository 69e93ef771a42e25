// The `authenticators` section. Types are validated here; each mechanism is a separate
// capability, and while a type's mechanism is not part of the build an entry of that type
// refuses to load (fail closed: a route must never run without the authentication it names).
#include <algorithm>
#include <array>
#include <string_view>

#include "config/schema_values.h"
#include "config/sections.h"

namespace portcullis::config {
namespace {

/// Authenticator types whose mechanism is part of this build (none yet).
constexpr std::array<std::string_view, 0> kAvailableTypes{};

bool available(std::string_view type) {
  return std::find(kAvailableTypes.begin(), kAvailableTypes.end(), type) != kAvailableTypes.end();
}

}  // namespace

void load_authenticators(const Node& node, std::map<std::string, AuthenticatorConfig>& out) {
  if (!node.expect_map()) return;
  for (const auto& [name, entry] : node.entries()) {
    AuthenticatorConfig auth;
    auth.name = name;
    auth.origin = entry.origin();
    // Registered even when broken, so routes naming it do not add a second, misleading error.
    out.emplace(name, auth);

    if (name == "mtls") {
      entry.error("the name \"mtls\" is reserved for the listener's client certificate verdict");
    } else if (auto error = name_error(name)) {
      entry.error(std::move(*error));
    }
    if (!entry.expect_map()) continue;
    // The other keys belong to the mechanism and are validated by it.
    const Node type_node = entry.require("type");
    const auto type = type_node.choice<std::string_view>(
        "authenticator type", {{"basic", "basic"}, {"jwt", "jwt"}, {"external", "external"}});
    if (!type) continue;
    out[name].type = std::string(*type);
    // SECURITY: an authenticator the build cannot run must not load, or its routes would be
    // configured but unenforced.
    if (!available(*type)) {
      type_node.error("authenticator type \"" + std::string(*type) +
                      "\" is not available in this build");
    }
  }
}

}  // namespace portcullis::config

// Authorization: compile a route's rules once (config::AuthzRuleConfig -> Policy) and evaluate
// them per request against the identity, giving a Decision with the deciding rule and a reason
// for every pass and fail (like Pomerium's criteria reasons). No I/O.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/identity.h"
#include "core/ip_network.h"

namespace portcullis::authz {

/// What a rule can look at.
struct RequestFacts {
  const core::Identity& identity;
  const core::IpAddress& source;
  std::string_view method;
};

/// How much of a decision to spell out: everything (explain, tests), or only what a denial
/// needs (the gateway per request: an allow then carries neither its rule nor a reason, and
/// costs no string building).
enum class Detail { Full, DenialsOnly };

struct Decision {
  bool allow = false;
  std::string rule;    ///< YAML path of the deciding rule ("listeners[0].routes[1].authz.any[0]")
  std::string reason;  ///< why, in operator words: "needs group ops; alice has groups [dev]"
};

class Policy {
 public:
  /// `rules` = routes[].authz; `authenticated_route` = the route lists authenticators; absent
  /// rules then mean "any authenticated identity" (an anonymous route without rules allows all).
  /// `route_origin` names the route in decisions.
  static Policy compile(const std::optional<config::AuthzRuleConfig>& rules,
                        bool authenticated_route, const config::Origin& route_origin);

  Decision evaluate(const RequestFacts& facts, Detail detail = Detail::Full) const;

 private:
  struct Node;
  std::shared_ptr<const Node> root_;  ///< null: allow everything
  std::string default_rule_;
};

}  // namespace portcullis::authz

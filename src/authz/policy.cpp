// Rule evaluation with reasons. Rules are kept as the validated config tree; evaluation walks it.
#include "authz/policy.h"

#include <algorithm>

#include "authz/glob.h"

namespace portcullis::authz {
namespace {

using Kind = config::AuthzRuleConfig::Kind;

std::string list_text(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string who(const core::Identity& id) {
  return id.authenticated() ? id.user : std::string("the request is anonymous");
}

bool any_glob(const std::vector<std::string>& patterns, std::string_view text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return glob_match(p, text); });
}

Decision leaf(const config::AuthzRuleConfig& rule, const RequestFacts& f, Detail detail) {
  const auto& id = f.identity;
  Decision d;  // the rule's path is added by evaluate_rule
  // Without the reasons of allows, an allowed leaf is decided before any text is built.
  const bool quiet = detail == Detail::DenialsOnly;
  switch (rule.kind) {
    case Kind::Authenticated:
      d.allow = id.authenticated() == rule.authenticated;
      if (quiet && d.allow) return d;
      d.reason =
          rule.authenticated
              ? (id.authenticated() ? "authenticated as " + id.user
                                    : "needs an authenticated identity; the request is "
                                      "anonymous")
              : (id.authenticated() ? "needs an anonymous request; authenticated as " + id.user
                                    : "anonymous");
      return d;
    case Kind::User:
      d.allow = id.authenticated() &&
                std::find(rule.values.begin(), rule.values.end(), id.user) != rule.values.end();
      if (quiet && d.allow) return d;
      d.reason = d.allow ? "user " + id.user
                         : "needs user " + list_text(rule.values, " or ") + "; " +
                               (id.authenticated() ? "the user is " + id.user : who(id));
      return d;
    case Kind::Group: {
      std::string hit;
      for (const auto& g : id.groups) {
        if (std::find(rule.values.begin(), rule.values.end(), g) != rule.values.end()) hit = g;
      }
      d.allow = id.authenticated() && !hit.empty();
      if (quiet && d.allow) return d;
      d.reason =
          d.allow ? "group " + hit
                  : "needs group " + list_text(rule.values, " or ") + "; " +
                        (id.authenticated() ? id.user + " has groups [" + list_text(id.groups) + "]"
                                            : who(id));
      return d;
    }
    case Kind::Claim: {
      d.allow = id.authenticated();
      for (const auto& [name, want] : rule.claims) {
        const auto it = id.claims.find(name);
        if (it == id.claims.end()) {
          d.allow = false;
          d.reason = "needs claim " + name + "=" + want + "; " +
                     (id.authenticated() ? "the identity has no claim " + name : who(id));
          return d;
        }
        if (it->second != want) {
          d.allow = false;
          d.reason = "needs claim " + name + "=" + want + "; it is " + name + "=" + it->second;
          return d;
        }
      }
      if (quiet && d.allow) return d;
      d.reason = d.allow ? "claims match" : "needs claims; " + who(id);
      return d;
    }
    case Kind::CertSubject:
    case Kind::CertIssuer: {
      const bool subject = rule.kind == Kind::CertSubject;
      const std::string& value = subject ? id.certificate().subject : id.certificate().issuer;
      const char* what = subject ? "subject" : "issuer";
      d.allow = !value.empty() && any_glob(rule.values, value);
      if (quiet && d.allow) return d;
      d.reason = value.empty() ? std::string("needs a client certificate ") + what + " matching '" +
                                     list_text(rule.values, "' or '") + "'; no client certificate"
                 : d.allow ? std::string("certificate ") + what + " '" + value + "'"
                           : std::string("needs a certificate ") + what + " matching '" +
                                 list_text(rule.values, "' or '") + "'; the " + what + " is '" +
                                 value + "'";
      return d;
    }
    case Kind::CertSan: {
      std::string hit;
      for (const auto& san : id.certificate().sans) {
        if (any_glob(rule.values, san)) hit = san;
      }
      d.allow = !hit.empty();
      if (quiet && d.allow) return d;
      d.reason = d.allow ? "certificate SAN " + hit
                         : "needs a certificate SAN matching '" + list_text(rule.values, "' or '") +
                               "'; " +
                               (id.certificate().subject.empty()
                                    ? std::string("no client certificate")
                                    : "the SANs are [" + list_text(id.certificate().sans) + "]");
      return d;
    }
    case Kind::Source: {
      d.allow = std::any_of(rule.networks.begin(), rule.networks.end(),
                            [&](const core::IpNetwork& n) { return n.contains(f.source); });
      if (quiet && d.allow) return d;
      d.reason =
          (d.allow ? "source "
                   : "needs a source in [" + list_text(rule.network_texts) + "]; the client is ") +
          f.source.to_string();
      return d;
    }
    case Kind::Method:
      d.allow = std::find(rule.values.begin(), rule.values.end(), f.method) != rule.values.end();
      if (quiet && d.allow) return d;
      d.reason = d.allow ? "method " + std::string(f.method)
                         : "needs method " + list_text(rule.values, " or ") + "; the method is " +
                               std::string(f.method);
      return d;
    case Kind::Any:
    case Kind::All:
      break;
  }
  return d;
}

Decision evaluate_rule(const config::AuthzRuleConfig& rule, const RequestFacts& f, Detail detail) {
  if (rule.kind != Kind::Any && rule.kind != Kind::All) {
    Decision d = leaf(rule, f, detail);
    if (!d.allow || detail == Detail::Full) d.rule = rule.origin.path;
    return d;
  }
  if (rule.kind == Kind::Any) {
    std::vector<std::string> why;
    for (const auto& child : rule.children) {
      auto d = evaluate_rule(child, f, detail);
      if (d.allow) return d;  // the first rule that allows decides
      why.push_back(std::move(d.reason));
    }
    return Decision{false, rule.origin.path, "no rule allows: " + list_text(why, "; ")};
  }
  std::string passed;
  for (const auto& child : rule.children) {
    auto d = evaluate_rule(child, f, detail);
    if (!d.allow) return d;  // the first rule that fails decides
    if (detail == Detail::DenialsOnly) continue;
    if (!passed.empty()) passed += ", ";
    passed += d.reason;
  }
  if (detail == Detail::DenialsOnly) return Decision{true, {}, {}};
  return Decision{true, rule.origin.path, passed};
}

}  // namespace

struct Policy::Node {
  config::AuthzRuleConfig rule;
};

Policy Policy::compile(const std::optional<config::AuthzRuleConfig>& rules,
                       bool authenticated_route, const config::Origin& route_origin) {
  Policy p;
  if (rules) {
    p.root_ = std::make_shared<const Node>(Node{*rules});
  } else if (authenticated_route) {
    // SECURITY: an authenticated route without rules still needs an authenticated identity.
    config::AuthzRuleConfig any_identity;
    any_identity.kind = Kind::Authenticated;
    any_identity.authenticated = true;
    any_identity.origin = {route_origin.path + ".authn", route_origin.line};
    p.root_ = std::make_shared<const Node>(Node{std::move(any_identity)});
  }
  p.default_rule_ = route_origin.path;
  return p;
}

Decision Policy::evaluate(const RequestFacts& facts, Detail detail) const {
  if (!root_) return Decision{true, default_rule_, "anonymous route without rules"};
  return evaluate_rule(root_->rule, facts, detail);
}

}  // namespace portcullis::authz

// routes[].authz: the authorization rule tree. Each rule is a map with exactly one key: `any` or
// `all` (a list of rules) or a condition (user, group, claim, cert_subject, cert_san,
// cert_issuer, source, method, authenticated). Values may be one string or a list of strings.
#include "config/quote.h"
#include "config/sections.h"

namespace portcullis::config {
namespace {

using Kind = AuthzRuleConfig::Kind;

constexpr int kMaxDepth = 16;

/// A string or a non-empty list of non-empty strings.
std::vector<std::string> read_strings(const Node& node) {
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
  if (out.empty()) node.error("expected at least one value");
  return out;
}

void load_rule(const Node& node, AuthzRuleConfig& out, int depth);

void load_children(const Node& node, AuthzRuleConfig& out, int depth) {
  if (!node.expect_list()) return;
  const auto items = node.items();
  if (items.empty()) node.error("expected at least one rule");
  for (const Node& item : items) {
    out.children.emplace_back();
    load_rule(item, out.children.back(), depth + 1);
  }
}

void load_rule(const Node& node, AuthzRuleConfig& out, int depth) {
  out.origin = node.origin();
  if (!node.expect_map()) return;
  if (depth > kMaxDepth) {
    node.error("rules nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return;
  }
  const auto entries = node.entries();
  if (entries.size() != 1) {
    node.error(
        "a rule has exactly one key (any, all, authenticated, user, group, claim, "
        "cert_subject, cert_san, cert_issuer, source, method), got " +
        std::to_string(entries.size()));
    return;
  }
  const auto& [key, value] = entries.front();
  out.origin = value.origin();
  if (key == "any" || key == "all") {
    out.kind = key == "any" ? Kind::Any : Kind::All;
    load_children(value, out, depth);
  } else if (key == "authenticated") {
    out.kind = Kind::Authenticated;
    if (auto b = value.boolean()) out.authenticated = *b;
  } else if (key == "claim") {
    out.kind = Kind::Claim;
    if (!value.expect_map()) return;
    for (const auto& [name, v] : value.entries()) {
      if (auto text = v.text()) out.claims[name] = *text;
    }
    if (out.claims.empty()) value.error("expected at least one claim: {name: value}");
  } else if (key == "source") {
    out.kind = Kind::Source;
    const auto texts = read_strings(value);
    for (const auto& text : texts) {
      if (auto net = core::IpNetwork::parse(text)) {
        out.networks.push_back(*net);
        out.network_texts.push_back(text);
      } else {
        value.error("not an IP address or CIDR network: " + quote(text));
      }
    }
  } else {
    static const std::pair<std::string_view, Kind> kLists[] = {{"user", Kind::User},
                                                               {"group", Kind::Group},
                                                               {"cert_subject", Kind::CertSubject},
                                                               {"cert_san", Kind::CertSan},
                                                               {"cert_issuer", Kind::CertIssuer},
                                                               {"method", Kind::Method}};
    for (const auto& [name, kind] : kLists) {
      if (key == name) {
        out.kind = kind;
        out.values = read_strings(value);
        return;
      }
    }
    node.error("unknown rule " + quote(key) +
               " (expected one of: any, all, authenticated, user, group, claim, cert_subject, "
               "cert_san, cert_issuer, source, method)");
  }
}

}  // namespace

void load_authz(const Node& node, AuthzRuleConfig& out) {
  load_rule(node, out, 0);
}

}  // namespace portcullis::config

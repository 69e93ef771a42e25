// Authorization rules: every condition, any/all, defaults, and the reasons given.
#include "authz/policy.h"

#include <gtest/gtest.h>

#include "authz/glob.h"

namespace portcullis::authz {
namespace {

using Kind = config::AuthzRuleConfig::Kind;
using Rule = config::AuthzRuleConfig;

Rule leaf(Kind kind, std::vector<std::string> values, std::string path) {
  Rule r;
  r.kind = kind;
  r.values = std::move(values);
  r.origin = {std::move(path), 3};
  return r;
}

Rule combine(Kind kind, std::vector<Rule> children, std::string path) {
  Rule r;
  r.kind = kind;
  r.children = std::move(children);
  r.origin = {std::move(path), 2};
  return r;
}

core::Identity alice() {
  core::Identity id;
  id.method = "basic";
  id.user = "alice";
  id.groups = {"dev"};
  id.claims = {{"role", "user"}};
  return id;
}

core::Identity service_cert() {
  core::Identity id;
  id.method = "mtls";
  id.user = "svc-billing";
  core::CertIdentity cert;
  cert.subject = "CN=svc-billing,O=Example";
  cert.issuer = "CN=Internal CA,O=Example";
  cert.sans = {"DNS:billing.internal", "URI:spiffe://example/billing"};
  id.cert = std::make_shared<const core::CertIdentity>(std::move(cert));
  return id;
}

const config::Origin kRoute{"listeners[0].routes[0]", 9};
const core::IpAddress kLocal = *core::IpAddress::parse("10.1.2.3");

/// The full decision; every call also checks that the gateway's per-request evaluation
/// (Detail::DenialsOnly) decides the same and, on a denial, says the same.
Decision run(const Rule& rule, const core::Identity& id, std::string_view method = "GET") {
  const Policy policy = Policy::compile(rule, true, kRoute);
  const Decision full = policy.evaluate({id, kLocal, method});
  const Decision quick = policy.evaluate({id, kLocal, method}, Detail::DenialsOnly);
  EXPECT_EQ(quick.allow, full.allow);
  if (full.allow) {
    EXPECT_EQ(quick.rule, "");
    EXPECT_EQ(quick.reason, "");
  } else {
    EXPECT_EQ(quick.rule, full.rule);
    EXPECT_EQ(quick.reason, full.reason);
  }
  return full;
}

TEST(Glob, Patterns) {
  EXPECT_TRUE(glob_match("CN=svc-*", "CN=svc-billing"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("*.internal", "DNS:x.internal"));
  EXPECT_FALSE(glob_match("*.internal", "DNS:x.internal.evil.com"));
  EXPECT_TRUE(glob_match("DNS:*.internal", "DNS:x.internal"));
  EXPECT_FALSE(glob_match("CN=svc-*", "cn=svc-billing"));  // case-sensitive
  EXPECT_TRUE(glob_match("*a*a*a*a*b", std::string(30, 'a') + "b"));
  EXPECT_FALSE(glob_match("*a*a*a*a*b", std::string(3000, 'a')));
}

TEST(Policy, AnyAllowsOnFirstMatchAndNamesTheRule) {
  const Rule any = combine(
      Kind::Any,
      {leaf(Kind::User, {"bob"}, "r.authz.any[0]"), leaf(Kind::Group, {"dev"}, "r.authz.any[1]")},
      "r.authz.any");
  const auto d = run(any, alice());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.rule, "r.authz.any[1]");
  EXPECT_EQ(d.reason, "group dev");
}

TEST(Policy, AnyDeniesWithEveryReason) {
  const Rule any = combine(
      Kind::Any,
      {leaf(Kind::User, {"bob"}, "r.authz.any[0]"), leaf(Kind::Group, {"ops"}, "r.authz.any[1]")},
      "r.authz.any");
  const auto d = run(any, alice());
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.rule, "r.authz.any");
  EXPECT_EQ(d.reason,
            "no rule allows: needs user bob; the user is alice; needs group ops; alice has groups "
            "[dev]");
}

TEST(Policy, AllDeniesOnFirstFailure) {
  const Rule all = combine(
      Kind::All,
      {leaf(Kind::Group, {"dev"}, "r.all[0]"), leaf(Kind::Method, {"GET", "HEAD"}, "r.all[1]")},
      "r.all");
  EXPECT_TRUE(run(all, alice(), "GET").allow);
  const auto d = run(all, alice(), "DELETE");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.rule, "r.all[1]");
  EXPECT_EQ(d.reason, "needs method GET or HEAD; the method is DELETE");
}

TEST(Policy, CertificateConditions) {
  EXPECT_TRUE(run(leaf(Kind::CertSubject, {"CN=svc-*"}, "s"), service_cert()).allow);
  EXPECT_TRUE(run(leaf(Kind::CertIssuer, {"CN=Internal CA,*"}, "i"), service_cert()).allow);
  EXPECT_TRUE(run(leaf(Kind::CertSan, {"URI:spiffe://example/*"}, "n"), service_cert()).allow);
  const auto d = run(leaf(Kind::CertSubject, {"CN=admin-*"}, "s"), service_cert());
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason,
            "needs a certificate subject matching 'CN=admin-*'; the subject is "
            "'CN=svc-billing,O=Example'");
  const auto none = run(leaf(Kind::CertSan, {"DNS:*"}, "n"), alice());
  EXPECT_FALSE(none.allow);
  EXPECT_NE(none.reason.find("no client certificate"), std::string::npos);
}

TEST(Policy, ClaimSourceAndAuthenticated) {
  Rule claim;
  claim.kind = Kind::Claim;
  claim.claims = {{"role", "admin"}};
  claim.origin = {"c", 1};
  const auto d = run(claim, alice());
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason, "needs claim role=admin; it is role=user");

  Rule source;
  source.kind = Kind::Source;
  source.networks = {*core::IpNetwork::parse("10.0.0.0/8")};
  source.network_texts = {"10.0.0.0/8"};
  source.origin = {"s", 1};
  EXPECT_TRUE(run(source, alice()).allow);
  const core::IpAddress outside = *core::IpAddress::parse("192.0.2.1");
  const auto o = Policy::compile(source, false, kRoute).evaluate({alice(), outside, "GET"});
  EXPECT_FALSE(o.allow);
  EXPECT_EQ(o.reason, "needs a source in [10.0.0.0/8]; the client is 192.0.2.1");

  Rule authenticated;
  authenticated.kind = Kind::Authenticated;
  authenticated.origin = {"a", 1};
  const core::Identity anonymous;
  EXPECT_FALSE(run(authenticated, anonymous).allow);
  EXPECT_TRUE(run(authenticated, alice()).allow);
}

TEST(Policy, DefaultsWithoutRules) {
  const core::Identity anonymous;
  // Authenticated route: any authenticated identity, named after the route's authn.
  const auto p = Policy::compile(std::nullopt, true, kRoute);
  EXPECT_TRUE(p.evaluate({alice(), kLocal, "GET"}).allow);
  const auto d = p.evaluate({anonymous, kLocal, "GET"});
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.rule, "listeners[0].routes[0].authn");
  // Anonymous route: everything.
  EXPECT_TRUE(
      Policy::compile(std::nullopt, false, kRoute).evaluate({anonymous, kLocal, "GET"}).allow);
}

TEST(Policy, AnonymousIdentityNeverMatchesUserOrGroup) {
  core::Identity anonymous;
  anonymous.user = "";  // no method: not authenticated
  EXPECT_FALSE(run(leaf(Kind::User, {""}, "u"), anonymous).allow);
  EXPECT_FALSE(run(leaf(Kind::Group, {"dev"}, "g"), anonymous).allow);
}

}  // namespace
}  // namespace portcullis::authz

// The pure parts of `portcullis probe`: URL sanity, HTTP head parsing, challenge schemes and
// Basic credentials, a proxy's refusal explained (the network steps are covered by
// tests/integration/test_diag_probe.py).
#include <gtest/gtest.h>

#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

std::optional<Target> url(const std::string& text, ProbeStep& step) {
  ProbeOptions options;
  options.url = text;
  return step_url(options, step);
}

bool has_problem(const ProbeStep& step, std::string_view code) {
  for (const auto& p : step.problems) {
    if (p.code == code) return true;
  }
  return false;
}

TEST(ProbeUrl, ParsesSchemeHostPortPath) {
  ProbeStep step;
  const auto t = url("HTTPS://api.example.com:8443/v1/Items?x=1#frag", step);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->scheme, "https");
  EXPECT_EQ(t->host, "api.example.com");
  EXPECT_EQ(t->port, 8443);
  EXPECT_EQ(t->path, "/v1/Items?x=1");
  EXPECT_EQ(step.status, StepStatus::Ok);
}

TEST(ProbeUrl, DefaultsAndIpv6) {
  ProbeStep a;
  const auto plain = url("http://example.com", a);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "/");
  ProbeStep b;
  const auto v6 = url("https://[::1]/", b);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(v6->authority(), "[::1]:443");
}

TEST(ProbeUrl, WarnsAboutShortNamesAndCredentials) {
  ProbeStep step;
  ASSERT_TRUE(url("https://intranet/app", step));
  EXPECT_TRUE(has_problem(step, "url.short_name"));
  EXPECT_EQ(step.status, StepStatus::Warn);
  ProbeStep creds;
  ASSERT_TRUE(url("https://u:p@host.example/", creds));
  EXPECT_TRUE(has_problem(creds, "url.userinfo"));
}

TEST(ProbeUrl, RefusesMalformedUrls) {
  for (const char* bad :
       {"host.example", "ftp://host.example/", "https://:443/", "https://host.example:0/",
        "https://host.example:99999/", "https://[::1/"}) {
    ProbeStep step;
    EXPECT_FALSE(url(bad, step)) << bad;
    EXPECT_EQ(step.status, StepStatus::Fail) << bad;
  }
}

TEST(HttpHead, ParsesStatusHeadersAndBody) {
  const auto head = parse_http_head(
      "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n"
      "proxy-authenticate: NTLM\r\n\r\nbody");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 407);
  EXPECT_EQ(head->reason, "Proxy Authentication Required");
  EXPECT_EQ(head->all("Proxy-Authenticate").size(), 2u);
  EXPECT_EQ(head->get("PROXY-AUTHENTICATE"), "Basic realm=\"x\"");
  EXPECT_EQ(head->body, "body");
  EXPECT_FALSE(parse_http_head("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_FALSE(parse_http_head(""));
}

TEST(AuthSchemes, SplitsChallenges) {
  EXPECT_EQ(auth_schemes({"Negotiate, NTLM"}), (std::vector<std::string>{"Negotiate", "NTLM"}));
  EXPECT_EQ(auth_schemes({"Basic realm=\"a, b\", Bearer realm=\"api\", error=\"x\""}),
            (std::vector<std::string>{"Basic", "Bearer"}));
  EXPECT_EQ(auth_schemes({"Negotiate oYH1MIHyoAMK==", "negotiate"}),
            (std::vector<std::string>{"Negotiate"}));
  EXPECT_TRUE(auth_schemes({}).empty());
}

TEST(BasicCredentials, Base64OfUserColonPassword) {
  EXPECT_EQ(basic_credentials("alice", "secret"), "Basic YWxpY2U6c2VjcmV0");
  EXPECT_EQ(basic_credentials("a", ""), "Basic YTo=");
}

TEST(Alerts, MeaningsNameTheCause) {
  EXPECT_NE(alert_meaning(116).find("requires a client certificate"), std::string::npos);
  ProbeStep step;
  alert_problem(48, step);
  EXPECT_EQ(step.status, StepStatus::Fail);
  EXPECT_EQ(step.problems.front().code, "tls.alert.48");
}

ProbeStep refusal(const std::string& raw, const core::ProxyUrl& proxy) {
  ProbeStep step;
  const auto head = parse_http_head(raw);
  EXPECT_TRUE(head.has_value());
  if (head) proxy_refusal(*head, proxy, step);
  EXPECT_EQ(step.status, StepStatus::Fail);
  EXPECT_EQ(step.problems.size(), 1u);
  return step;
}

TEST(ProxyRefusal, AuthRequiredSaysWhatToChange) {
  const std::string basic =
      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
      "realm=\"corp\"\r\n\r\n";
  auto step = refusal(basic, {"proxy.corp", 3128, "", ""});
  EXPECT_EQ(step.problems[0].code, "proxy.auth_required");
  EXPECT_NE(step.problems[0].message.find("(407); it offers: Basic"), std::string::npos);
  EXPECT_TRUE(step.problems[0].fix.starts_with(
      "give the proxy credentials in its URL: http://USER:PASSWORD@proxy.corp:3128"));
  step = refusal(basic, {"proxy.corp", 3128, "gw", "x"});
  EXPECT_NE(step.problems[0].fix.find("rejected the credentials for user 'gw'"), std::string::npos);
  step = refusal(
      "HTTP/1.1 407 No\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: "
      "NTLM\r\n\r\n",
      {"proxy.corp", 3128, "gw", "x"});
  EXPECT_NE(step.problems[0].fix.find("does not offer Basic"), std::string::npos);
  EXPECT_NE(step.problems[0].fix.find("Negotiate, NTLM"), std::string::npos);
}

TEST(ProxyRefusal, RefusedTunnel) {
  auto step = refusal("HTTP/1.1 403 Forbidden\r\n\r\n", {"proxy.corp", 3128, "", ""});
  EXPECT_EQ(step.problems[0].code, "proxy.refused");
  EXPECT_EQ(step.problems[0].message, "the proxy refused to open a tunnel: 403 Forbidden");
  EXPECT_NE(step.problems[0].fix.find("policy forbids"), std::string::npos);
  step = refusal("HTTP/1.1 502 Bad Gateway\r\n\r\n", {"proxy.corp", 3128, "", ""});
  EXPECT_NE(step.problems[0].fix.find("could not reach the target"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::diag

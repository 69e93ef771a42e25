// Denial rendering: content negotiation, detail gating, problem+json validity and shape, HTML
// escaping, and header order.
#include "explain/render.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "explain/html.h"

namespace portcullis::explain {
namespace {

using core::DenialCode;

struct NegotiationCase {
  std::string_view accept;
  BodyFormat expected;
};

TEST(Negotiate, Table) {
  constexpr auto J = BodyFormat::ProblemJson;
  constexpr auto H = BodyFormat::Html;
  const NegotiationCase cases[] = {
      {"", J},
      {"   ", J},
      {"*/*", J},  // curl
      {"application/json", J},
      {"application/problem+json", J},
      {"text/html", H},
      {"TEXT/HTML", H},
      {"text/*", H},
      {"text/plain", J},
      // Chrome / Firefox / Safari navigations.
      {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,"
       "*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
       H},
      {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", H},
      {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", H},
      // Ties go to JSON.
      {"text/html, application/json", J},
      {"application/json, text/html", J},
      {"text/html;q=0.5, application/json;q=0.5", J},
      // q-values decide.
      {"text/html;q=0.9, application/json", J},
      {"application/json;q=0.5, text/html", H},
      {"application/problem+json;q=0.1, text/html;q=0.2", H},
      {"text/html; q=0.2, application/problem+json; q=0.3", J},
      {"text/html;level=1;q=0.7, application/json;q=0.6", H},
      {"text/html;q=1.0, */*;q=0.1", H},
      {"text/html;Q=0.9, */*;q=0.1", H},
      // The most specific range sets a type's quality, whatever its order.
      {"*/*;q=0.1, text/html;q=0", J},
      {"text/html;q=0, */*", J},
      {"text/*;q=0.9, application/*;q=0.5", H},
      {"application/*, text/html;q=0.9", J},
      // text/html excluded explicitly.
      {"text/html;q=0", J},
      // Malformed q: the range is ignored.
      {"text/html;q=2", J},
      {"text/html;q=abc", J},
      {"text/html;q=-1, */*;q=0.5", J},
      // Old Java clients: "*" and ".2".
      {"text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", H},
      // Garbage.
      {",,,", J},
      {"text", J},
      {"/html", J},
      {"*/html", J},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(negotiate(c.accept), c.expected) << '"' << c.accept << '"';
  }
}

config::ErrorsConfig errors(config::DetailMode mode, std::vector<std::string_view> networks = {}) {
  config::ErrorsConfig e;
  e.detail = mode;
  for (const auto n : networks) e.detail_networks.push_back(*core::IpNetwork::parse(n));
  return e;
}

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

TEST(DetailAllowed, Modes) {
  using config::DetailMode;
  EXPECT_TRUE(detail_allowed(errors(DetailMode::Always), ip("203.0.113.9")));
  EXPECT_TRUE(detail_allowed(errors(DetailMode::Always), ip("127.0.0.1")));
  EXPECT_FALSE(detail_allowed(errors(DetailMode::Never), ip("127.0.0.1")));
  EXPECT_FALSE(detail_allowed(errors(DetailMode::Never, {"0.0.0.0/0"}), ip("10.0.0.1")));
}

TEST(DetailAllowed, LocalMeansLoopbackAndDetailNetworks) {
  using config::DetailMode;
  const auto local = errors(DetailMode::Local);
  EXPECT_TRUE(detail_allowed(local, ip("127.0.0.1")));
  EXPECT_TRUE(detail_allowed(local, ip("::1")));
  EXPECT_FALSE(detail_allowed(local, ip("10.1.2.3")));
  EXPECT_FALSE(detail_allowed(local, ip("2001:db8::1")));

  const auto nets = errors(DetailMode::Local, {"10.0.0.0/8", "2001:db8::/32"});
  EXPECT_TRUE(detail_allowed(nets, ip("10.1.2.3")));
  EXPECT_TRUE(detail_allowed(nets, ip("2001:db8::1")));
  EXPECT_TRUE(detail_allowed(nets, ip("127.0.0.1")));
  EXPECT_FALSE(detail_allowed(nets, ip("11.0.0.1")));
  EXPECT_FALSE(detail_allowed(nets, ip("2001:db9::1")));
}

TEST(DetailAllowed, DefaultConfigIsLocal) {
  const config::ErrorsConfig defaults;
  EXPECT_TRUE(detail_allowed(defaults, ip("::1")));
  EXPECT_FALSE(detail_allowed(defaults, ip("192.0.2.1")));
}

core::Denial expired_cert() {
  return core::make_denial(DenialCode::MtlsCertExpired,
                           "subject CN=alice; notAfter 2026-01-01T00:00:00Z; now 2026-11-21");
}

TEST(RenderDenial, ProblemJsonGeneric) {
  const auto r =
      render_denial(expired_cert(), "0123456789abcdef0123", false, BodyFormat::ProblemJson);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 6u);
  EXPECT_EQ(j.at("type"), "urn:portcullis:denial:mtls.cert_expired");
  EXPECT_EQ(j.at("title"), "A certificate in the client chain has expired");
  EXPECT_EQ(j.at("status"), 400);
  EXPECT_TRUE(j.at("status").is_number_integer());
  EXPECT_EQ(j.at("instance"), "0123456789abcdef0123");
  EXPECT_EQ(j.at("code"), "mtls.cert_expired");
  EXPECT_EQ(j.at("hint"), core::spec(DenialCode::MtlsCertExpired).hint);
  EXPECT_FALSE(j.contains("detail"));
  EXPECT_EQ(r.body.find("CN=alice"), std::string::npos);
}

TEST(RenderDenial, ProblemJsonDetailed) {
  const auto r = render_denial(expired_cert(), "rid", true, BodyFormat::ProblemJson);
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j.size(), 7u);
  EXPECT_EQ(j.at("detail"), "subject CN=alice; notAfter 2026-01-01T00:00:00Z; now 2026-11-21");
  // Member order as RFC 9457 readers expect it.
  EXPECT_EQ(r.body.rfind(R"({"type":"urn:portcullis:denial:mtls.cert_expired","title":)", 0), 0u);
}

TEST(RenderDenial, DetailedWithEmptyDetailHasNoDetailMember) {
  const auto r = render_denial(core::make_denial(DenialCode::RouteNotFound), "rid", true,
                               BodyFormat::ProblemJson);
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(nlohmann::json::parse(r.body).contains("detail"));

  const auto html =
      render_denial(core::make_denial(DenialCode::RouteNotFound), "rid", true, BodyFormat::Html);
  EXPECT_EQ(html.body.find("Detail"), std::string::npos);
}

TEST(RenderDenial, ProblemJsonStaysValidForHostileDetail) {
  core::Denial d = core::make_denial(DenialCode::JwtIssuerMismatch);
  d.detail = std::string("iss \"https://evil/\"\\\n\t\x01 bad utf8 \xFF\xC0 end") + '\0' + "x";
  const auto r = render_denial(d, "id\"with\\quote", true, BodyFormat::ProblemJson);
  const auto j = nlohmann::json::parse(r.body);  // throws when invalid
  EXPECT_EQ(j.at("instance"), "id\"with\\quote");
  EXPECT_NE(j.at("detail").get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
}

TEST(RenderDenial, EffectiveStatusIsUsed) {
  core::Denial d = expired_cert();
  d.status = 495;
  const auto r = render_denial(d, "rid", false, BodyFormat::ProblemJson);
  EXPECT_EQ(r.status, 495);
  EXPECT_EQ(nlohmann::json::parse(r.body).at("status"), 495);
  const auto html = render_denial(d, "rid", false, BodyFormat::Html);
  EXPECT_NE(html.body.find("<title>495 A certificate in the client chain has expired</title>"),
            std::string::npos);
}

TEST(RenderDenial, HeadersInOrder) {
  core::Denial d = core::make_denial(DenialCode::AuthnRequired);
  d.headers = {{"WWW-Authenticate", "Basic realm=\"portcullis\""},
               {"WWW-Authenticate", "Bearer realm=\"portcullis\""}};
  const auto r = render_denial(d, "abc123", false, BodyFormat::ProblemJson);
  const std::vector<core::HeaderPair> expected{
      {"X-Denial-Code", "authn.required"},
      {"X-Request-Id", "abc123"},
      {"WWW-Authenticate", "Basic realm=\"portcullis\""},
      {"WWW-Authenticate", "Bearer realm=\"portcullis\""},
      {"Cache-Control", "no-store"},
  };
  EXPECT_EQ(r.headers, expected);
  EXPECT_EQ(r.status, 401);

  const auto html = render_denial(d, "abc123", true, BodyFormat::Html);
  EXPECT_EQ(html.headers, expected);
}

TEST(RenderDenial, RetryAfterAndOwnCacheControlKept) {
  core::Denial d = core::make_denial(DenialCode::BasicLockedOut);
  d.headers = {{"Retry-After", "30"}, {"cache-control", "private, no-store"}};
  const auto r = render_denial(d, "rid", false, BodyFormat::ProblemJson);
  const std::vector<core::HeaderPair> expected{
      {"X-Denial-Code", "basic.locked_out"},
      {"X-Request-Id", "rid"},
      {"Retry-After", "30"},
      {"cache-control", "private, no-store"},
  };
  EXPECT_EQ(r.headers, expected);
  EXPECT_EQ(r.status, 429);
}

TEST(RenderDenial, HeadersCannotBeSplitOrOverridden) {
  core::Denial d = core::make_denial(DenialCode::AuthzDenied);
  d.headers = {{"X-Denial-Code", "ok"}, {"x-request-id", "forged"}};
  const auto r = render_denial(d, "id\r\nSet-Cookie: a=b", false, BodyFormat::ProblemJson);
  const std::vector<core::HeaderPair> expected{
      {"X-Denial-Code", "authz.denied"},
      {"X-Request-Id", "idSet-Cookie: a=b"},
      {"Cache-Control", "no-store"},
  };
  EXPECT_EQ(r.headers, expected);
}

TEST(RenderDenial, HtmlGeneric) {
  const auto r = render_denial(expired_cert(), "0123456789abcdef0123", false, BodyFormat::Html);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(r.body.find("<title>400 A certificate in the client chain has expired</title>"),
            std::string::npos);
  EXPECT_NE(r.body.find("<h1>400 A certificate in the client chain has expired</h1>"),
            std::string::npos);
  EXPECT_NE(r.body.find("<code>mtls.cert_expired</code>"), std::string::npos);
  EXPECT_NE(r.body.find("<code>0123456789abcdef0123</code>"), std::string::npos);
  EXPECT_NE(r.body.find(html_escape(core::spec(DenialCode::MtlsCertExpired).hint)),
            std::string::npos);
  EXPECT_EQ(r.body.find("CN=alice"), std::string::npos);
  EXPECT_EQ(r.body.find("Detail"), std::string::npos);
  EXPECT_TRUE(r.body.ends_with("</html>\n"));
}

TEST(RenderDenial, HtmlDetailedIsEscaped) {
  core::Denial d = core::make_denial(DenialCode::AuthzDenied);
  d.detail = "user <script>alert('x')</script> & \"friends\"";
  const auto r = render_denial(d, "<b>id</b>", true, BodyFormat::Html);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_EQ(r.body.find("<b>"), std::string::npos);
  EXPECT_NE(r.body.find("user &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                        "&quot;friends&quot;"),
            std::string::npos);
  EXPECT_NE(r.body.find("<code>&lt;b&gt;id&lt;/b&gt;</code>"), std::string::npos);
  EXPECT_NE(r.body.find("<dt>Detail</dt>"), std::string::npos);

  // The same denial, not detailed: no trace of the detail.
  const auto generic = render_denial(d, "rid", false, BodyFormat::Html);
  EXPECT_EQ(generic.body.find("script"), std::string::npos);
  EXPECT_EQ(generic.body.find("friends"), std::string::npos);
}

TEST(RenderDenial, EveryCodeRendersValidJson) {
  for (const auto& row : core::catalogue()) {
    const auto r =
        render_denial(core::make_denial(row.id, "d"), "rid", true, BodyFormat::ProblemJson);
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j.at("code"), row.code);
    EXPECT_EQ(j.at("status"), row.status);
    EXPECT_EQ(r.headers.front().second, row.code);
  }
}

TEST(HtmlEscape, EscapesMarkupAndBadBytes) {
  EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(html_escape("plain\ttext\n"), "plain\ttext\n");
  EXPECT_EQ(html_escape("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(html_escape("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(html_escape(std::string_view("\0\x1b", 2)), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(html_escape(""), "");
}

}  // namespace
}  // namespace portcullis::explain

// Hot paths of one request (Google Benchmark): parsing a request head and routing it, rendering
// a denial (problem+json and HTML), formatting the access-log line, and mapping a certificate
// verdict (OpenSSL error -> code, ssl_client_verify, the log fields and the identity).
#include <benchmark/benchmark.h>

#include <openssl/x509_vfy.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/denial.h"
#include "explain/render.h"
#include "pki/verdict.h"
#include "pki/verify.h"
#include "proxy/access_log.h"
#include "proxy/client_identity.h"
#include "proxy/message_parser.h"
#include "route/router.h"

namespace {

using namespace portcullis;

constexpr std::string_view kRequest =
    "GET /api/v1/orders/12345?expand=items HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: bench/1.0\r\n"
    "Accept: application/json\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "X-Request-Id: 5f0c6a2e-1d3b-4c59-9a61-8b2f6f0e7d11\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\n"
    "\r\n";

std::vector<config::RouteConfig> routes() {
  std::vector<config::RouteConfig> out;
  for (const char* prefix : {"/static/", "/admin/", "/internal/", "/api/v2/", "/api/v1/"}) {
    config::RouteConfig r;
    r.name = std::string("r") + prefix;
    r.match.host = "*.example.com";
    r.match.path_prefix = prefix;
    out.push_back(r);
  }
  return out;
}

void BM_ParseAndRoute(benchmark::State& state) {
  const route::Router router(routes());
  for (auto _ : state) {
    proxy::RequestParser parser;
    parser.header_limit(32 * 1024);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(kRequest.data(), kRequest.size()), ec);
    auto& head = parser.head();
    const auto host = head.headers.get("host").value_or("");
    const int index = router.match(host, head.path());
    benchmark::DoNotOptimize(index);
    if (index != 4) state.SkipWithError("wrong route");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseAndRoute);

void BM_RouteOnly(benchmark::State& state) {
  const route::Router router(routes());
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.match("api.example.com", "/api/v1/orders/12345"));
  }
}
BENCHMARK(BM_RouteOnly);

void BM_RenderDenial(benchmark::State& state) {
  const auto format =
      state.range(0) == 0 ? explain::BodyFormat::ProblemJson : explain::BodyFormat::Html;
  const bool detailed = state.range(1) != 0;
  const core::Denial denial = core::make_denial(
      core::DenialCode::AuthzDenied,
      "route \"api\": rule authz.any[0]: user \"mallory\" is not in [alice, bob]");
  for (auto _ : state) {
    auto r = explain::render_denial(denial, "5f0c6a2e1d3b4c59", detailed, format);
    benchmark::DoNotOptimize(r.body.data());
  }
}
BENCHMARK(BM_RenderDenial)->ArgsProduct({{0, 1}, {0, 1}})->ArgNames({"html", "detailed"});

void BM_Negotiate(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        explain::negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  }
}
BENCHMARK(BM_Negotiate);

proxy::AccessRecord record() {
  proxy::AccessRecord r;
  r.ts = "2026-11-22T02:14:55.123Z";
  r.request_id = "5f0c6a2e1d3b4c59";
  r.listener = "public";
  r.route = "api";
  r.client_ip = "192.0.2.17";
  r.method = "GET";
  r.path = "/api/v1/orders/12345";
  r.status = 200;
  r.stage = "forward";
  r.duration_ms = 1.234;
  r.upstream = "app 127.0.0.1:9000";
  r.upstream_status = 200;
  r.bytes_in = 312;
  r.bytes_out = 1480;
  r.tls_version = "TLSv1.3";
  r.ssl_client_verify = "SUCCESS";
  r.client_subject = "CN=svc-orders,O=Example";
  r.client_issuer = "CN=Example Issuing CA,O=Example";
  r.client_serial = "4F2A9C1D77E0B3A5";
  r.client_sha256 = std::string(64, 'a');
  r.auth_method = "mtls";
  r.user = "svc-orders";
  return r;
}

void BM_AccessLine(benchmark::State& state) {
  const auto r = record();
  std::string line;
  for (auto _ : state) {
    line.clear();
    proxy::format_access_line(line, r);
    benchmark::DoNotOptimize(line.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_AccessLine);

pki::Verdict success_verdict() {
  pki::Verdict v;
  v.outcome = pki::Verdict::Outcome::Success;
  v.leaf.subject = "CN=svc-orders,O=Example";
  v.leaf.issuer = "CN=Example Issuing CA,O=Example";
  v.leaf.serial = "4F2A9C1D77E0B3A5";
  v.leaf.sha256 = std::string(64, 'a');
  return v;
}

void BM_VerdictMapping(benchmark::State& state) {
  static constexpr int kErrors[] = {
      X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
      X509_V_ERR_CERT_REVOKED, X509_V_ERR_INVALID_PURPOSE, X509_V_ERR_CERT_SIGNATURE_FAILURE};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(pki::code_for_verify_error(kErrors[i++ % 5], 0));
  }
}
BENCHMARK(BM_VerdictMapping);

void BM_VerdictToRecordAndIdentity(benchmark::State& state) {
  const auto v = std::make_shared<const pki::Verdict>(success_verdict());
  for (auto _ : state) {
    proxy::AccessRecord r;
    proxy::record_client_cert(r, *v);
    auto id = proxy::identity_from_certificate(v, std::string());
    benchmark::DoNotOptimize(r.ssl_client_verify.data());
    benchmark::DoNotOptimize(id.user.data());
  }
}
BENCHMARK(BM_VerdictToRecordAndIdentity);

}  // namespace

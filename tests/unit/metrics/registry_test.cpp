// The metrics registry: exact exposition text for a known sequence of calls, label escaping,
// idempotent registration, and exact totals under concurrent updates.
#include "metrics/registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace portcullis::metrics {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, std::string_view prefix) {
  std::vector<std::string> out;
  for (auto& line : lines_of(text)) {
    if (line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

std::string histogram_lines(std::string_view labels, const std::vector<int>& cumulative,
                            std::string_view sum) {
  static constexpr std::string_view kLe[] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                             "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                             "2.5",   "5",      "10",    "+Inf"};
  std::string out;
  for (std::size_t i = 0; i < std::size(kLe); ++i) {
    out += "portcullis_request_duration_seconds_bucket{" + std::string(labels) + ",le=\"" +
           std::string(kLe[i]) + "\"} " + std::to_string(cumulative[i]) + "\n";
  }
  out += "portcullis_request_duration_seconds_sum{" + std::string(labels) + "} " +
         std::string(sum) + "\n";
  out += "portcullis_request_duration_seconds_count{" + std::string(labels) + "} " +
         std::to_string(cumulative.back()) + "\n";
  return out;
}

TEST(Registry, ExpositionForKnownSequence) {
  Registry registry;
  RouteCounters* api = registry.route("public", "api");
  RouteCounters* none = registry.route("public", "");
  ListenerGauges* listener = registry.listener("public");

  registry.count_request(api, 200, 0.003);   // le 0.005
  registry.count_request(api, 200, 0.2);     // le 0.25
  registry.count_request(api, 403, 0.0005);  // le 0.001
  registry.count_request(none, 404, 12.5);   // +Inf
  registry.count_denial(core::DenialCode::AuthzDenied);
  registry.count_denial(core::DenialCode::RouteNotFound);
  registry.count_denial(core::DenialCode::RouteNotFound);
  registry.connection_opened(listener);
  registry.connection_opened(listener);
  registry.connection_closed(listener);

  std::string expected =
      "# HELP portcullis_requests_total Requests answered (forwarded or denied), by listener, "
      "route and HTTP status.\n"
      "# TYPE portcullis_requests_total counter\n"
      "portcullis_requests_total{listener=\"public\",route=\"\",status=\"404\"} 1\n"
      "portcullis_requests_total{listener=\"public\",route=\"api\",status=\"200\"} 2\n"
      "portcullis_requests_total{listener=\"public\",route=\"api\",status=\"403\"} 1\n"
      "# HELP portcullis_request_duration_seconds Time to answer a request, in seconds, by "
      "listener and route.\n"
      "# TYPE portcullis_request_duration_seconds histogram\n";
  expected += histogram_lines("listener=\"public\",route=\"\"",
                              {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "12.5");
  expected += histogram_lines("listener=\"public\",route=\"api\"",
                              {1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3}, "0.2035");
  expected +=
      "# HELP portcullis_denials_total Requests denied, by denial code.\n"
      "# TYPE portcullis_denials_total counter\n";
  for (const auto& row : core::catalogue()) {
    const int n = row.id == core::DenialCode::AuthzDenied     ? 1
                  : row.id == core::DenialCode::RouteNotFound ? 2
                                                              : 0;
    expected += "portcullis_denials_total{code=\"" + std::string(row.code) + "\"} " +
                std::to_string(n) + "\n";
  }
  expected +=
      "# HELP portcullis_client_cert_verdicts_total Client-certificate verdicts of TLS handshakes "
      "(ssl_client_verify), by result and code.\n"
      "# TYPE portcullis_client_cert_verdicts_total counter\n"
      "portcullis_client_cert_verdicts_total{result=\"SUCCESS\",code=\"\"} 0\n"
      "portcullis_client_cert_verdicts_total{result=\"NONE\",code=\"mtls.cert_missing\"} 0\n";
  for (const auto& row : core::catalogue()) {
    if (!row.code.starts_with("mtls.") || row.id == core::DenialCode::MtlsCertMissing) continue;
    expected += "portcullis_client_cert_verdicts_total{result=\"FAILED\",code=\"" +
                std::string(row.code) + "\"} 0\n";
  }
  expected +=
      "# HELP portcullis_connections_active Open client connections, by listener.\n"
      "# TYPE portcullis_connections_active gauge\n"
      "portcullis_connections_active{listener=\"public\"} 1\n"
      "# HELP portcullis_tls_handshakes_total Completed TLS server handshakes: full, or resumed "
      "from a session ticket.\n"
      "# TYPE portcullis_tls_handshakes_total counter\n"
      "portcullis_tls_handshakes_total{resumed=\"false\"} 0\n"
      "portcullis_tls_handshakes_total{resumed=\"true\"} 0\n"
      "# HELP portcullis_fast_lane_requests_total Requests the workers' fast lane forwarded: "
      "relayed to the end by the lane, or resumed by the request pipeline.\n"
      "# TYPE portcullis_fast_lane_requests_total counter\n"
      "portcullis_fast_lane_requests_total{outcome=\"relayed\"} 0\n"
      "portcullis_fast_lane_requests_total{outcome=\"resumed\"} 0\n";

  EXPECT_EQ(registry.prometheus_text(), expected);
}

TEST(Registry, TlsHandshakesFullAndResumed) {
  Registry registry;
  registry.count_tls_handshake(true);
  registry.count_tls_handshake(false);
  registry.count_tls_handshake(false);
  const auto text = registry.prometheus_text();
  EXPECT_NE(text.find("portcullis_tls_handshakes_total{resumed=\"false\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("portcullis_tls_handshakes_total{resumed=\"true\"} 1\n"), std::string::npos);
}

TEST(Registry, FastLaneRequestsByOutcome) {
  Registry registry;
  registry.count_lane_request(true);
  registry.count_lane_request(true);
  registry.count_lane_request(false);
  const auto text = registry.prometheus_text();
  EXPECT_NE(text.find("portcullis_fast_lane_requests_total{outcome=\"relayed\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("portcullis_fast_lane_requests_total{outcome=\"resumed\"} 1\n"),
            std::string::npos);
}

TEST(Registry, ClientCertVerdictsByResultAndCode) {
  Registry registry;
  registry.count_client_verdict(std::nullopt, true);
  registry.count_client_verdict(std::nullopt, true);
  registry.count_client_verdict(core::DenialCode::MtlsCertMissing, false);
  registry.count_client_verdict(core::DenialCode::MtlsCertExpired, false);
  const auto text = registry.prometheus_text();
  EXPECT_NE(text.find("portcullis_client_cert_verdicts_total{result=\"SUCCESS\",code=\"\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("{result=\"NONE\",code=\"mtls.cert_missing\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("{result=\"FAILED\",code=\"mtls.cert_expired\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("{result=\"FAILED\",code=\"mtls.self_signed\"} 0\n"), std::string::npos);
}

TEST(Registry, EmptyRegistryStillDescribesEveryMetric) {
  Registry registry;
  const std::string text = registry.prometheus_text();
  EXPECT_EQ(lines_starting(text, "# TYPE ").size(), 7u);
  EXPECT_EQ(lines_starting(text, "# HELP ").size(), 7u);
  EXPECT_EQ(lines_starting(text, "portcullis_denials_total{").size(), core::catalogue().size());
  EXPECT_TRUE(lines_starting(text, "portcullis_requests_total{").empty());
  EXPECT_TRUE(text.ends_with("portcullis_fast_lane_requests_total{outcome=\"resumed\"} 0\n"));
}

TEST(Registry, RegisteredRouteWithoutRequestsHasZeroHistogramAndNoStatusLines) {
  Registry registry;
  registry.route("l", "r");
  const std::string text = registry.prometheus_text();
  EXPECT_TRUE(lines_starting(text, "portcullis_requests_total{").empty());
  const auto buckets = lines_starting(text, "portcullis_request_duration_seconds_bucket{");
  ASSERT_EQ(buckets.size(), 14u);
  EXPECT_EQ(buckets.back(),
            "portcullis_request_duration_seconds_bucket{listener=\"l\",route=\"r\",le=\"+Inf\"} 0");
  EXPECT_EQ(lines_starting(text, "portcullis_request_duration_seconds_sum{"),
            std::vector<std::string>{
                "portcullis_request_duration_seconds_sum{listener=\"l\",route=\"r\"} 0"});
}

TEST(Registry, StatusOutsideRangeCountsAsZero) {
  Registry registry;
  RouteCounters* r = registry.route("l", "r");
  registry.count_request(r, 99, 0.01);
  registry.count_request(r, 600, 0.01);
  registry.count_request(r, -1, 0.01);
  registry.count_request(r, 100, 0.01);
  registry.count_request(r, 599, 0.01);
  const auto lines = lines_starting(registry.prometheus_text(), "portcullis_requests_total{");
  const std::vector<std::string> expected{
      "portcullis_requests_total{listener=\"l\",route=\"r\",status=\"0\"} 3",
      "portcullis_requests_total{listener=\"l\",route=\"r\",status=\"100\"} 1",
      "portcullis_requests_total{listener=\"l\",route=\"r\",status=\"599\"} 1",
  };
  EXPECT_EQ(lines, expected);
}

TEST(Registry, BucketBoundariesAreInclusiveAndOddDurationsAreSafe) {
  Registry registry;
  RouteCounters* r = registry.route("l", "r");
  registry.count_request(r, 200, 0.001);  // exactly on a bound: le="0.001"
  registry.count_request(r, 200, 10);     // le="10"
  registry.count_request(r, 200, -1);     // clock went backwards: first bucket, adds 0 to _sum
  registry.count_request(r, 200, std::numeric_limits<double>::quiet_NaN());  // +Inf, adds 0
  const std::string text = registry.prometheus_text();
  const auto buckets = lines_starting(text, "portcullis_request_duration_seconds_bucket{");
  ASSERT_EQ(buckets.size(), 14u);
  EXPECT_TRUE(buckets[0].ends_with("le=\"0.001\"} 2")) << buckets[0];
  EXPECT_TRUE(buckets[11].ends_with("le=\"5\"} 2")) << buckets[11];
  EXPECT_TRUE(buckets[12].ends_with("le=\"10\"} 3")) << buckets[12];
  EXPECT_TRUE(buckets[13].ends_with("le=\"+Inf\"} 4")) << buckets[13];
  EXPECT_EQ(lines_starting(text, "portcullis_request_duration_seconds_sum{"),
            std::vector<std::string>{
                "portcullis_request_duration_seconds_sum{listener=\"l\",route=\"r\"} 10.001"});
}

TEST(Registry, LabelValuesAreEscaped) {
  Registry registry;
  RouteCounters* r = registry.route("a\"b", "c\\d\ne");
  registry.count_request(r, 200, 0);
  registry.listener("x\"y");
  const std::string text = registry.prometheus_text();
  EXPECT_EQ(lines_starting(text, "portcullis_requests_total{"),
            std::vector<std::string>{
                R"(portcullis_requests_total{listener="a\"b",route="c\\d\ne",status="200"} 1)"});
  EXPECT_EQ(lines_starting(text, "portcullis_connections_active{"),
            std::vector<std::string>{R"(portcullis_connections_active{listener="x\"y"} 0)"});
}

TEST(Registry, RegistrationIsIdempotent) {
  Registry registry;
  RouteCounters* a = registry.route("public", "api");
  RouteCounters* b = registry.route("public", "static");
  RouteCounters* c = registry.route("admin", "api");
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  // Many registrations later, the first pointers are still valid and still returned.
  for (int i = 0; i < 1000; ++i) registry.route("bulk", std::to_string(i));
  EXPECT_EQ(registry.route("public", "api"), a);
  EXPECT_EQ(registry.route("public", "static"), b);
  EXPECT_EQ(registry.route("admin", "api"), c);

  ListenerGauges* l = registry.listener("public");
  for (int i = 0; i < 100; ++i) registry.listener(fmt::format("l{}", i));
  EXPECT_EQ(registry.listener("public"), l);

  registry.count_request(a, 200, 0.01);
  registry.count_request(registry.route("public", "api"), 200, 0.01);
  EXPECT_EQ(lines_starting(registry.prometheus_text(), "portcullis_requests_total{"),
            std::vector<std::string>{
                R"(portcullis_requests_total{listener="public",route="api",status="200"} 2)"});
}

TEST(Registry, NullHandlesAreIgnored) {
  Registry registry;
  registry.count_request(nullptr, 200, 0.1);
  registry.connection_opened(nullptr);
  registry.connection_closed(nullptr);
  EXPECT_TRUE(lines_starting(registry.prometheus_text(), "portcullis_requests_total{").empty());
}

TEST(Registry, ConcurrentUpdatesAreExact) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  Registry registry;
  RouteCounters* route = registry.route("public", "api");
  ListenerGauges* gauges = registry.listener("public");

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        registry.count_request(route, t % 2 == 0 ? 200 : 503, 0.002);
        registry.count_denial(core::DenialCode::UpstreamUnavailable);
        registry.connection_opened(gauges);
        registry.connection_closed(gauges);
      }
    });
  }
  // Scrapes while the workers run must not disturb them (and must not crash).
  for (int i = 0; i < 20; ++i) (void)registry.prometheus_text();
  for (auto& thread : threads) thread.join();

  const std::string text = registry.prometheus_text();
  const std::string half = std::to_string(kThreads / 2 * kPerThread);
  const std::string total = std::to_string(kThreads * kPerThread);
  EXPECT_EQ(
      lines_starting(text, "portcullis_requests_total{"),
      (std::vector<std::string>{
          "portcullis_requests_total{listener=\"public\",route=\"api\",status=\"200\"} " + half,
          "portcullis_requests_total{listener=\"public\",route=\"api\",status=\"503\"} " + half}));
  EXPECT_EQ(
      lines_starting(text, "portcullis_request_duration_seconds_count{"),
      std::vector<std::string>{
          "portcullis_request_duration_seconds_count{listener=\"public\",route=\"api\"} " + total});
  EXPECT_EQ(lines_starting(text, "portcullis_request_duration_seconds_sum{"),
            std::vector<std::string>{
                "portcullis_request_duration_seconds_sum{listener=\"public\",route=\"api\"} 800"});
  EXPECT_EQ(
      lines_starting(text, "portcullis_denials_total{code=\"upstream.unavailable\"}"),
      std::vector<std::string>{"portcullis_denials_total{code=\"upstream.unavailable\"} " + total});
  EXPECT_EQ(lines_starting(text, "portcullis_connections_active{"),
            std::vector<std::string>{"portcullis_connections_active{listener=\"public\"} 0"});
}

}  // namespace
}  // namespace portcullis::metrics

// Process metrics: lock-free counters updated from the I/O threads and their Prometheus text
// exposition for the admin /metrics endpoint. No I/O here.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/denial.h"
#include "metrics/recent_denials.h"

namespace portcullis::metrics {

/// Per (listener, route) counters. Created at start-up; the hot path only touches atomics.
class RouteCounters;
/// Per listener gauges (active connections).
class ListenerGauges;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Declares a (listener, route) pair; route "" stands for requests that matched no route.
  /// Call before serving; the returned pointer stays valid for the registry's lifetime.
  /// Registering the same pair twice returns the same counters.
  RouteCounters* route(std::string_view listener, std::string_view route);

  /// One finished request (forwarded or denied). `status` outside 100..599 is counted as 0.
  void count_request(RouteCounters* counters, int status, double duration_seconds);
  void count_denial(core::DenialCode code);
  /// One client-certificate verdict (a TLS handshake on a listener with client_auth): success,
  /// none sent (code MtlsCertMissing or nullopt), or the failure code.
  void count_client_verdict(std::optional<core::DenialCode> code, bool success);
  /// Declares a listener; same lifetime and idempotence rules as route().
  ListenerGauges* listener(std::string_view name);
  /// Declares an external authenticator; returns its counter of requests let through by
  /// `failure_mode: allow` while the callout failed (same lifetime rules as route()).
  std::atomic<std::uint64_t>* callout_failed_open(std::string_view authenticator);
  void connection_opened(ListenerGauges* gauges);
  void connection_closed(ListenerGauges* gauges);
  /// One TLS server handshake completed: a full one, or a resumed session.
  void count_tls_handshake(bool resumed);
  /// A request the worker's fast lane forwarded: relayed to its end by the lane, or resumed by
  /// the coroutine pipeline (a response that was not simple, a timeout, a closed upstream).
  void count_lane_request(bool relayed);

  /// Prometheus text exposition format 0.0.4:
  ///   portcullis_requests_total{listener,route,status}
  ///   portcullis_request_duration_seconds{listener,route} histogram
  ///   portcullis_denials_total{code}            (every catalogue code, zeros included)
  ///   portcullis_client_cert_verdicts_total{result,code}  (SUCCESS | NONE | FAILED + code)
  ///   portcullis_connections_active{listener}
  ///   portcullis_callout_failed_open_total{authenticator}
  ///   portcullis_tls_handshakes_total{resumed}  (false | true)
  ///   portcullis_fast_lane_requests_total{outcome}  (relayed | resumed)
  std::string prometheus_text() const;

  /// The recent denials by request id (admin GET /denials/<request-id>).
  RecentDenials& recent_denials() { return recent_denials_; }
  const RecentDenials& recent_denials() const { return recent_denials_; }

 private:
  RecentDenials recent_denials_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::metrics

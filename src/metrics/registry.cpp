// The metrics registry: fixed arrays of relaxed atomics per (listener, route) and per listener,
// allocated at registration, and the Prometheus text exposition (format 0.0.4) built on scrape.
#include "metrics/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <utility>

namespace portcullis::metrics {
namespace {

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;
/// Slot 0 counts statuses outside 100..599 (exposed as status="0"); slot s-99 counts status s.
constexpr std::size_t kStatusSlots = kMaxStatus - kMinStatus + 2;

/// Upper bounds of the duration histogram, in seconds; a last implicit bucket is +Inf.
constexpr std::array<double, 13> kBucketBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10};
constexpr std::array<std::string_view, kBucketBounds.size() + 1> kBucketLabels{
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "+Inf"};

constexpr auto kRelaxed = std::memory_order_relaxed;

/// A label value escaped as the exposition format requires: backslash, double quote, newline.
void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_route_labels(std::string& out, std::string_view listener, std::string_view route) {
  out += "listener=\"";
  append_label_value(out, listener);
  out += "\",route=\"";
  append_label_value(out, route);
  out += '"';
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

class RouteCounters {
 public:
  RouteCounters(std::string listener, std::string route)
      : listener_(std::move(listener)), route_(std::move(route)) {}

  void record(int status, double duration_seconds) {
    const std::size_t slot =
        status >= kMinStatus && status <= kMaxStatus ? static_cast<std::size_t>(status - 99) : 0;
    by_status_[slot].fetch_add(1, kRelaxed);

    std::size_t bucket = 0;
    while (bucket < kBucketBounds.size() && !(duration_seconds <= kBucketBounds[bucket])) {
      ++bucket;  // NaN fails every comparison and lands in +Inf
    }
    buckets_[bucket].fetch_add(1, kRelaxed);
    // The sum is kept in whole nanoseconds so a plain integer fetch_add suffices.
    if (duration_seconds > 0) {
      const double ns = std::min(duration_seconds, 1e6) * 1e9;
      sum_ns_.fetch_add(static_cast<std::uint64_t>(std::llround(ns)), kRelaxed);
    }
  }

  void append_requests(std::string& out) const {
    for (std::size_t slot = 0; slot < by_status_.size(); ++slot) {
      const std::uint64_t n = by_status_[slot].load(kRelaxed);
      if (n == 0) continue;
      out += "portcullis_requests_total{";
      append_route_labels(out, listener_, route_);
      fmt::format_to(std::back_inserter(out), ",status=\"{}\"}} {}\n",
                     slot == 0 ? 0 : static_cast<int>(slot) + 99, n);
    }
  }

  void append_histogram(std::string& out) const {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      cumulative += buckets_[b].load(kRelaxed);
      out += "portcullis_request_duration_seconds_bucket{";
      append_route_labels(out, listener_, route_);
      fmt::format_to(std::back_inserter(out), ",le=\"{}\"}} {}\n", kBucketLabels[b], cumulative);
    }
    const double sum = static_cast<double>(sum_ns_.load(kRelaxed)) / 1e9;
    out += "portcullis_request_duration_seconds_sum{";
    append_route_labels(out, listener_, route_);
    fmt::format_to(std::back_inserter(out), "}} {}\n", sum);
    // _count is the +Inf bucket of the same snapshot, so the two always agree.
    out += "portcullis_request_duration_seconds_count{";
    append_route_labels(out, listener_, route_);
    fmt::format_to(std::back_inserter(out), "}} {}\n", cumulative);
  }

 private:
  std::string listener_;
  std::string route_;
  std::array<std::atomic<std::uint64_t>, kStatusSlots> by_status_{};
  std::array<std::atomic<std::uint64_t>, kBucketBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

class ListenerGauges {
 public:
  explicit ListenerGauges(std::string name) : name_(std::move(name)) {}

  void opened() { active_.fetch_add(1, kRelaxed); }
  void closed() { active_.fetch_sub(1, kRelaxed); }

  void append(std::string& out) const {
    out += "portcullis_connections_active{listener=\"";
    append_label_value(out, name_);
    fmt::format_to(std::back_inserter(out), "\"}} {}\n", active_.load(kRelaxed));
  }

 private:
  std::string name_;
  std::atomic<std::int64_t> active_{0};
};

struct Registry::Impl {
  /// Guards registration and the indexes; never taken on the request path.
  mutable std::mutex mutex;
  /// Stable addresses: a deque never moves its elements when it grows at the end.
  std::deque<RouteCounters> routes;
  std::deque<ListenerGauges> listeners;
  /// Sorted indexes, which also give the exposition a deterministic order.
  std::map<std::pair<std::string, std::string>, RouteCounters*, std::less<>> route_index;
  std::map<std::string, ListenerGauges*, std::less<>> listener_index;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(core::DenialCode::kCount)>
      denials{};
  /// Client-certificate verdicts: one slot per failure code, then SUCCESS, then NONE.
  static constexpr std::size_t kVerdictSuccess = static_cast<std::size_t>(core::DenialCode::kCount);
  static constexpr std::size_t kVerdictNone = kVerdictSuccess + 1;
  std::array<std::atomic<std::uint64_t>, kVerdictNone + 1> verdicts{};
  std::deque<std::atomic<std::uint64_t>> failed_open;
  /// Completed TLS server handshakes: [0] full, [1] resumed.
  std::array<std::atomic<std::uint64_t>, 2> tls_handshakes{};
  std::array<std::atomic<std::uint64_t>, 2> lane_requests{};  ///< [resumed, relayed]
  std::map<std::string, std::atomic<std::uint64_t>*, std::less<>> failed_open_index;
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

RouteCounters* Registry::route(std::string_view listener, std::string_view route) {
  std::lock_guard lock(impl_->mutex);
  auto key = std::make_pair(std::string(listener), std::string(route));
  if (const auto it = impl_->route_index.find(key); it != impl_->route_index.end()) {
    return it->second;
  }
  RouteCounters* counters = &impl_->routes.emplace_back(key.first, key.second);
  impl_->route_index.emplace(std::move(key), counters);
  return counters;
}

void Registry::count_request(RouteCounters* counters, int status, double duration_seconds) {
  if (counters != nullptr) counters->record(status, duration_seconds);
}

void Registry::count_denial(core::DenialCode code) {
  const auto index = static_cast<std::size_t>(code);
  if (index < impl_->denials.size()) impl_->denials[index].fetch_add(1, kRelaxed);
}

void Registry::count_client_verdict(std::optional<core::DenialCode> code, bool success) {
  std::size_t index = Impl::kVerdictNone;
  if (success) {
    index = Impl::kVerdictSuccess;
  } else if (code && *code != core::DenialCode::MtlsCertMissing) {
    index = static_cast<std::size_t>(*code);
  }
  if (index < impl_->verdicts.size()) impl_->verdicts[index].fetch_add(1, kRelaxed);
}

ListenerGauges* Registry::listener(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  if (const auto it = impl_->listener_index.find(name); it != impl_->listener_index.end()) {
    return it->second;
  }
  ListenerGauges* gauges = &impl_->listeners.emplace_back(std::string(name));
  impl_->listener_index.emplace(std::string(name), gauges);
  return gauges;
}

std::atomic<std::uint64_t>* Registry::callout_failed_open(std::string_view authenticator) {
  std::lock_guard lock(impl_->mutex);
  if (const auto it = impl_->failed_open_index.find(authenticator);
      it != impl_->failed_open_index.end()) {
    return it->second;
  }
  auto* counter = &impl_->failed_open.emplace_back(0);
  impl_->failed_open_index.emplace(std::string(authenticator), counter);
  return counter;
}

void Registry::connection_opened(ListenerGauges* gauges) {
  if (gauges != nullptr) gauges->opened();
}

void Registry::connection_closed(ListenerGauges* gauges) {
  if (gauges != nullptr) gauges->closed();
}

void Registry::count_tls_handshake(bool resumed) {
  impl_->tls_handshakes[resumed ? 1 : 0].fetch_add(1, kRelaxed);
}

void Registry::count_lane_request(bool relayed) {
  impl_->lane_requests[relayed ? 1 : 0].fetch_add(1, kRelaxed);
}

std::string Registry::prometheus_text() const {
  std::lock_guard lock(impl_->mutex);
  std::string out;
  out.reserve(4096 + impl_->routes.size() * 2048);

  append_header(out, "portcullis_requests_total",
                "Requests answered (forwarded or denied), by listener, route and HTTP status.",
                "counter");
  for (const auto& [key, counters] : impl_->route_index) counters->append_requests(out);

  append_header(out, "portcullis_request_duration_seconds",
                "Time to answer a request, in seconds, by listener and route.", "histogram");
  for (const auto& [key, counters] : impl_->route_index) counters->append_histogram(out);

  append_header(out, "portcullis_denials_total", "Requests denied, by denial code.", "counter");
  for (const auto& row : core::catalogue()) {
    out += "portcullis_denials_total{code=\"";
    append_label_value(out, row.code);
    fmt::format_to(std::back_inserter(out), "\"}} {}\n",
                   impl_->denials[static_cast<std::size_t>(row.id)].load(kRelaxed));
  }

  append_header(out, "portcullis_client_cert_verdicts_total",
                "Client-certificate verdicts of TLS handshakes (ssl_client_verify), by result and "
                "code.",
                "counter");
  fmt::format_to(std::back_inserter(out),
                 "portcullis_client_cert_verdicts_total{{result=\"SUCCESS\",code=\"\"}} {}\n",
                 impl_->verdicts[Impl::kVerdictSuccess].load(kRelaxed));
  fmt::format_to(
      std::back_inserter(out),
      "portcullis_client_cert_verdicts_total{{result=\"NONE\",code=\"mtls.cert_missing\"}} "
      "{}\n",
      impl_->verdicts[Impl::kVerdictNone].load(kRelaxed));
  for (const auto& row : core::catalogue()) {
    if (!row.code.starts_with("mtls.") || row.id == core::DenialCode::MtlsCertMissing) continue;
    out += "portcullis_client_cert_verdicts_total{result=\"FAILED\",code=\"";
    append_label_value(out, row.code);
    fmt::format_to(std::back_inserter(out), "\"}} {}\n",
                   impl_->verdicts[static_cast<std::size_t>(row.id)].load(kRelaxed));
  }

  append_header(out, "portcullis_connections_active", "Open client connections, by listener.",
                "gauge");
  for (const auto& [name, gauges] : impl_->listener_index) gauges->append(out);

  append_header(out, "portcullis_tls_handshakes_total",
                "Completed TLS server handshakes: full, or resumed from a session ticket.",
                "counter");
  fmt::format_to(std::back_inserter(out),
                 "portcullis_tls_handshakes_total{{resumed=\"false\"}} {}\n"
                 "portcullis_tls_handshakes_total{{resumed=\"true\"}} {}\n",
                 impl_->tls_handshakes[0].load(kRelaxed), impl_->tls_handshakes[1].load(kRelaxed));

  append_header(out, "portcullis_fast_lane_requests_total",
                "Requests the workers' fast lane forwarded: relayed to the end by the lane, or "
                "resumed by the request pipeline.",
                "counter");
  fmt::format_to(std::back_inserter(out),
                 "portcullis_fast_lane_requests_total{{outcome=\"relayed\"}} {}\n"
                 "portcullis_fast_lane_requests_total{{outcome=\"resumed\"}} {}\n",
                 impl_->lane_requests[1].load(kRelaxed), impl_->lane_requests[0].load(kRelaxed));

  if (!impl_->failed_open_index.empty()) {
    append_header(out, "portcullis_callout_failed_open_total",
                  "Requests let through by failure_mode: allow while the callout failed.",
                  "counter");
    for (const auto& [name, counter] : impl_->failed_open_index) {
      out += "portcullis_callout_failed_open_total{authenticator=\"";
      append_label_value(out, name);
      out += "\"} " + std::to_string(counter->load(kRelaxed)) + "\n";
    }
  }
  return out;
}

}  // namespace portcullis::metrics

// The most recent denials by request id, for the admin listener's GET /denials/<request-id> (and
// `portcullis explain --request-id`). Bounded: the oldest entry is dropped first. No I/O.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::metrics {

/// One denial as the operator needs it to explain a client's complaint.
struct DenialRecord {
  std::string request_id;
  std::string ts;  ///< RFC 3339
  std::string listener;
  std::string route;  ///< "" when no route matched
  int status = 0;     ///< 0 = the TLS handshake was refused
  std::string code;   ///< the denial code
  std::string stage;
  std::string detail;  ///< the operator evidence (never secrets, as in the access log)
};

/// A bounded, thread-safe ring of recent denials. Only denials take the (short) lock, never a
/// request that is forwarded.
class RecentDenials {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  explicit RecentDenials(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  void record(DenialRecord record);
  /// The denial with `request_id`, if it is still in the ring.
  std::optional<DenialRecord> find(std::string_view request_id) const;
  std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<DenialRecord> entries_;  ///< oldest first
};

/// {"request_id", "ts", "listener", "route", "status", "code", "stage", "detail"}.
std::string denial_record_json(const DenialRecord& record);

}  // namespace portcullis::metrics

// The recent-denials ring and its JSON form.
#include "metrics/recent_denials.h"

#include <algorithm>

#include "core/json_writer.h"

namespace portcullis::metrics {

void RecentDenials::record(DenialRecord record) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back(std::move(record));
}

std::optional<DenialRecord> RecentDenials::find(std::string_view request_id) const {
  std::lock_guard lock(mutex_);
  // Newest first: a client asks about what just happened.
  const auto it = std::find_if(entries_.rbegin(), entries_.rend(),
                               [&](const DenialRecord& r) { return r.request_id == request_id; });
  if (it == entries_.rend()) return std::nullopt;
  return *it;
}

std::size_t RecentDenials::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::string denial_record_json(const DenialRecord& r) {
  std::string out;
  core::JsonObjectWriter w(out);
  w.str("request_id", r.request_id)
      .str("ts", r.ts)
      .str("listener", r.listener)
      .str("route", r.route)
      .num("status", static_cast<std::int64_t>(r.status))
      .str("code", r.code)
      .str("stage", r.stage)
      .str("detail", r.detail);
  w.finish();
  return out + "\n";
}

}  // namespace portcullis::metrics

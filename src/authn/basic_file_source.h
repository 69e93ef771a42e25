// Files the Basic authenticator reads (htpasswd, groups): a stamp (device, inode, size, mtime)
// to notice changes, and FileSource<T>, a holder that re-stats at most once per interval and
// swaps in a freshly parsed immutable snapshot; a failed reload keeps the old one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "core/log.h"
#include "core/result.h"

namespace portcullis::authn {

/// What identifies one version of a file on disk. Compared as a whole: an atomic rename
/// changes the inode, an in-place edit the size or the mtime (nanoseconds).
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = -1;
  std::int64_t mtime_ns = 0;

  bool operator==(const FileStamp&) const = default;
};

/// stat(2) of `path` as a FileStamp.
core::Result<FileStamp> stat_file(const std::string& path);

/// Reads a whole regular file (at most `max_bytes`) and the stamp of exactly what was read
/// (fstat of the open descriptor, so a change during the read is noticed next time).
core::Result<std::pair<std::string, FileStamp>> read_file_stamped(const std::string& path,
                                                                  std::size_t max_bytes);

/// An atomically swapped snapshot of a file parsed by `T::load(path)`. T provides
/// `static core::Result<T> load(const std::string&)`, `const FileStamp& stamp() const` and
/// `const std::vector<std::string>& warnings() const`. Readers never block: `current()` is a
/// lock-free load; `refresh()` (call it off the I/O threads: parsing may hash) re-stats at most
/// once per `check_interval` and reloads when the stamp changed.
template <class T>
class FileSource {
 public:
  using Clock = std::chrono::steady_clock;

  /// Loads `path` now: an error here is a start-up (configuration) error.
  static core::Result<std::shared_ptr<FileSource>> open(
      std::string path, std::chrono::milliseconds check_interval = std::chrono::seconds(1)) {
    auto loaded = T::load(path);
    if (!loaded) return std::unexpected(loaded.error());
    return std::shared_ptr<FileSource>(new FileSource(
        std::move(path), check_interval, std::make_shared<const T>(std::move(*loaded))));
  }

  /// Wraps an already parsed snapshot (tests, or a caller that loaded it itself).
  static std::shared_ptr<FileSource> from(
      std::string path, T snapshot,
      std::chrono::milliseconds check_interval = std::chrono::seconds(1)) {
    return std::shared_ptr<FileSource>(new FileSource(
        std::move(path), check_interval, std::make_shared<const T>(std::move(snapshot))));
  }

  /// The snapshot in force; never null.
  std::shared_ptr<const T> current() const { return current_.load(std::memory_order_acquire); }

  /// True when the next refresh() would stat the file (the interval has passed).
  bool refresh_due(Clock::time_point now) const {
    return now.time_since_epoch().count() >= next_check_.load(std::memory_order_relaxed);
  }

  /// Re-stats the file when due and reloads it when it changed. Returns true when a new
  /// snapshot was swapped in. Concurrent callers do not wait: one reloads, the others keep
  /// using the current snapshot.
  bool refresh(Clock::time_point now) {
    if (!refresh_due(now)) return false;
    std::unique_lock lock(reload_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    if (!refresh_due(now)) return false;
    next_check_.store((now + check_interval_).time_since_epoch().count(),
                      std::memory_order_relaxed);
    return reload_if_changed();
  }

  /// Stats and reloads now when the file changed, ignoring the interval.
  bool force_refresh() {
    std::lock_guard lock(reload_mutex_);
    return reload_if_changed();
  }

  /// The error of the last failed stat or reload; cleared by a successful reload.
  std::optional<core::Error> last_error() const {
    std::lock_guard lock(reload_mutex_);
    return last_error_;
  }

  /// Number of successful reloads since open (0 = still the first content).
  std::uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }

  const std::string& path() const { return path_; }

 private:
  FileSource(std::string path, std::chrono::milliseconds check_interval,
             std::shared_ptr<const T> first)
      : path_(std::move(path)), check_interval_(check_interval), current_(std::move(first)) {}

  bool reload_if_changed() {
    auto stamp = stat_file(path_);
    if (!stamp) {
      // SECURITY: a vanished or unreadable file keeps the old content (fail-safe for
      // availability); the error is recorded and logged once per distinct message.
      record_error(stamp.error());
      return false;
    }
    if (*stamp == current()->stamp()) return false;
    if (failed_stamp_ && *stamp == *failed_stamp_) return false;  // same broken version
    auto loaded = T::load(path_);
    if (!loaded) {
      failed_stamp_ = *stamp;
      record_error(loaded.error());
      return false;
    }
    for (const auto& warning : loaded->warnings()) {
      core::log(core::LogLevel::Warn, "{}", warning);
    }
    current_.store(std::make_shared<const T>(std::move(*loaded)), std::memory_order_release);
    failed_stamp_.reset();
    last_error_.reset();
    reloads_.fetch_add(1, std::memory_order_relaxed);
    core::log(core::LogLevel::Info, "{}: reloaded", path_);
    return true;
  }

  void record_error(core::Error error) {
    if (!last_error_ || last_error_->to_string() != error.to_string()) {
      core::log(core::LogLevel::Warn, "{}: reload failed, keeping the previous content: {}", path_,
                error.to_string());
    }
    last_error_ = std::move(error);
  }

  const std::string path_;
  const std::chrono::milliseconds check_interval_;
  std::atomic<std::shared_ptr<const T>> current_;
  std::atomic<Clock::rep> next_check_{0};
  std::atomic<std::uint64_t> reloads_{0};
  mutable std::mutex reload_mutex_;
  std::optional<core::Error> last_error_;  // guarded by reload_mutex_
  std::optional<FileStamp> failed_stamp_;  // guarded by reload_mutex_
};

}  // namespace portcullis::authn

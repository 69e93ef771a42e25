// The mutable state of a Basic authenticator: the per-process HMAC key that names credentials
// without storing them, the failure counters behind basic.locked_out, and the short-lived
// cache of successful verifications. Thread-safe; bounded in memory.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace portcullis::authn {

/// HMAC-SHA-256 output: the only form in which credentials are remembered.
using KeyedDigest = std::array<unsigned char, 32>;

/// HMAC-SHA-256 under a random key made at construction (never leaves the process, so a
/// memory dump of the cache cannot be brute-forced offline without it, and digests from
/// different processes cannot be compared).
class KeyedHasher {
 public:
  /// A hasher with a fresh 256-bit key from the OpenSSL CSPRNG.
  static core::Result<KeyedHasher> make();

  /// HMAC over a domain tag and length-prefixed parts (so ("ab","c") != ("a","bc")).
  /// nullopt only if OpenSSL fails (out of memory).
  std::optional<KeyedDigest> digest(std::string_view domain,
                                    std::initializer_list<std::string_view> parts) const;

  KeyedHasher(const KeyedHasher&) = default;
  KeyedHasher& operator=(const KeyedHasher&) = default;
  ~KeyedHasher();

 private:
  KeyedHasher() = default;
  std::array<unsigned char, 32> key_{};
};

struct DigestHash {
  std::size_t operator()(const KeyedDigest& d) const {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);  // HMAC output is uniformly distributed
    return h;
  }
};

/// Lockout configuration (DESIGN: on by default).
struct LockoutSettings {
  bool enabled = true;
  int max_failures = 5;  ///< failures within `window` that lock
  std::chrono::milliseconds window{std::chrono::minutes(5)};  ///< also how long a lockout lasts
  std::size_t max_tracked = 100'000;  ///< (user, client) pairs remembered at most
};

/// Failure counters per (user, client address) key: N failures within the window lock the
/// key for one window from the N-th failure. Keys of unknown users are counted like any other.
class LockoutTable {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LockoutTable(LockoutSettings settings) : settings_(settings) {}

  /// Seconds until `key` is unlocked (rounded up, at least 1), nullopt when not locked.
  std::optional<std::chrono::seconds> locked_for(const KeyedDigest& key,
                                                 Clock::time_point now) const;

  /// Records one failure; true when `key` is locked now (this failure was the N-th).
  bool record_failure(const KeyedDigest& key, Clock::time_point now);

  /// Forgets `key` (after a success).
  void reset(const KeyedDigest& key);

  std::size_t size() const;
  const LockoutSettings& settings() const { return settings_; }

 private:
  struct Entry {
    std::vector<Clock::time_point> failures;  // within the window, oldest first
    Clock::time_point locked_until{};
  };
  void sweep(Clock::time_point now);  // requires mutex_

  const LockoutSettings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<KeyedDigest, Entry, DigestHash> entries_;
  Clock::time_point last_sweep_{};
  bool warned_full_ = false;
};

/// Successful verifications, keyed by HMAC(user, password) and bound to the htpasswd
/// snapshot that verified them (a reload invalidates every entry). Never holds a password.
class SuccessCache {
 public:
  using Clock = std::chrono::steady_clock;

  SuccessCache(std::chrono::milliseconds ttl, std::size_t max_entries)
      : ttl_(ttl), max_entries_(max_entries) {}

  /// True when `key` was verified against snapshot `instance` less than ttl ago.
  bool contains(const KeyedDigest& key, std::uint64_t instance, Clock::time_point now) const;

  /// Remembers a success at `now` (no-op when the ttl is 0 or the cache is full of live
  /// entries: the cache is an optimisation, never a requirement).
  void insert(const KeyedDigest& key, std::uint64_t instance, Clock::time_point now);

  void clear();
  std::size_t size() const;
  bool enabled() const { return ttl_.count() > 0 && max_entries_ > 0; }

 private:
  struct Entry {
    std::uint64_t instance = 0;
    Clock::time_point expires{};
  };

  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<KeyedDigest, Entry, DigestHash> entries_;
  Clock::time_point last_sweep_{};
};

}  // namespace portcullis::authn

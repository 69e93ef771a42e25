// VerdictCache: successful client-chain verdicts remembered by a hash of the DER chain, so that
// a client that reconnects with the same chain skips path validation. Bounded (LRU), scoped to
// one TrustStore and VerifyPolicy, each entry capped by the validity of everything it relied on.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pki/trust_store.h"
#include "pki/verdict.h"

namespace portcullis::pki {

/// Thread-safe (one short lock per call): a listener's workers share one cache.
///
/// SECURITY: only successes are cached, and an entry never outlives the earliest notAfter of
/// the presented certificates, of the store's anchors and intermediates, nor the earliest
/// nextUpdate of its CRLs; a new TrustStore (config reload: new CA bundle or CRL) comes with a
/// new cache, so nothing verified against the old trust survives it.
class VerdictCache {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr std::size_t kDefaultCapacity = 4096;
  static constexpr std::chrono::seconds kDefaultTtl{300};

  /// `store` must be the TrustStore every cached verdict was verified against.
  explicit VerdictCache(const TrustStore& store, std::size_t capacity = kDefaultCapacity,
                        std::chrono::seconds ttl = kDefaultTtl);

  /// The cached verdict for `key` (chain_cache_key) when present and still fresh at `now`.
  std::shared_ptr<const Verdict> find(std::string_view key, Clock::time_point now);

  /// Remembers `verdict` for the chain `presented` under `key`. Ignored when the key is empty,
  /// the verdict is not a success, or it would already be stale at `now`.
  void insert(std::string key, std::shared_ptr<const Verdict> verdict,
              const std::vector<X509*>& presented, Clock::time_point now);

  std::size_t size() const;

  /// The earliest notAfter of `certs` (Clock::time_point::max() when none; min() when one
  /// cannot be read: such an entry is never cached).
  static Clock::time_point earliest_not_after(const std::vector<X509*>& certs);

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Verdict> verdict;
    Clock::time_point expires;
  };

  std::size_t capacity_;
  std::chrono::seconds ttl_;
  Clock::time_point store_bound_;  ///< anchors, intermediates and CRLs of the store
  mutable std::mutex mu_;
  std::list<Entry> lru_;  ///< most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  ///< views of keys
};

}  // namespace portcullis::pki

// VerdictCache: a bounded LRU of successful verdicts with per-entry expiry (see the header for
// what bounds an entry's life).
#include "pki/verdict_cache.h"

#include <openssl/asn1.h>

#include <algorithm>
#include <ctime>

namespace portcullis::pki {
namespace {

using Clock = VerdictCache::Clock;

/// An ASN1_TIME as a time point; min() when it cannot be read (the caller then never caches).
Clock::time_point to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return Clock::time_point::min();
  return Clock::from_time_t(timegm(&tm));
}

}  // namespace

Clock::time_point VerdictCache::earliest_not_after(const std::vector<X509*>& certs) {
  auto earliest = Clock::time_point::max();
  for (X509* cert : certs) {
    if (cert == nullptr) return Clock::time_point::min();
    earliest = std::min(earliest, to_time_point(X509_get0_notAfter(cert)));
  }
  return earliest;
}

VerdictCache::VerdictCache(const TrustStore& store, std::size_t capacity, std::chrono::seconds ttl)
    : capacity_(std::max<std::size_t>(capacity, 1)), ttl_(ttl) {
  std::vector<X509*> certs;
  for (const auto& c : store.trusted_cas()) certs.push_back(c.get());
  for (const auto& c : store.intermediates()) certs.push_back(c.get());
  store_bound_ = earliest_not_after(certs);
  for (const auto& crl : store.crls()) {
    // A CRL without nextUpdate gives no bound of its own.
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) {
      store_bound_ = std::min(store_bound_, to_time_point(next));
    }
  }
}

std::shared_ptr<const Verdict> VerdictCache::find(std::string_view key, Clock::time_point now) {
  if (key.empty()) return nullptr;
  std::lock_guard lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (now >= it->second->expires) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->verdict;
}

void VerdictCache::insert(std::string key, std::shared_ptr<const Verdict> verdict,
                          const std::vector<X509*>& presented, Clock::time_point now) {
  if (key.empty() || !verdict || !verdict->ok()) return;
  const auto expires = std::min({now + ttl_, store_bound_, earliest_not_after(presented)});
  if (expires <= now) return;
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(key); it != index_.end()) {
    it->second->verdict = std::move(verdict);
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{std::move(key), std::move(verdict), expires});
  index_.emplace(lru_.front().key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::size_t VerdictCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace portcullis::pki

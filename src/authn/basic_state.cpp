// Keyed digests (OpenSSL HMAC-SHA-256), lockout counters and the success cache.
#include "authn/basic_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <string>

#include "core/log.h"

namespace portcullis::authn {
namespace {

// Full tables are swept at most this often, so a flood of new keys costs O(1) amortised.
constexpr std::chrono::seconds kSweepInterval{1};

void append_part(std::string& buf, std::string_view part) {
  const auto n = static_cast<std::uint32_t>(part.size());
  const unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                                static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  buf.append(reinterpret_cast<const char*>(len), sizeof len);
  buf.append(part);
}

std::chrono::seconds ceil_seconds(std::chrono::steady_clock::duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d);
  return s < std::chrono::seconds(1) ? std::chrono::seconds(1) : s;
}

}  // namespace

core::Result<KeyedHasher> KeyedHasher::make() {
  KeyedHasher h;
  if (RAND_bytes(h.key_.data(), static_cast<int>(h.key_.size())) != 1) {
    return core::fail("RAND_bytes failed: cannot make the credential-cache key");
  }
  return h;
}

KeyedHasher::~KeyedHasher() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::optional<KeyedDigest> KeyedHasher::digest(
    std::string_view domain, std::initializer_list<std::string_view> parts) const {
  std::string buf;
  append_part(buf, domain);
  for (auto part : parts) append_part(buf, part);
  KeyedDigest out{};
  unsigned int len = 0;
  const unsigned char* ok =
      HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), out.data(), &len);
  OPENSSL_cleanse(buf.data(), buf.size());  // it held the password
  if (ok == nullptr || len != out.size()) return std::nullopt;
  return out;
}

// ---- LockoutTable ------------------------------------------------------------------------

std::optional<std::chrono::seconds> LockoutTable::locked_for(const KeyedDigest& key,
                                                             Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.locked_until) return std::nullopt;
  return ceil_seconds(it->second.locked_until - now);
}

bool LockoutTable::record_failure(const KeyedDigest& key, Clock::time_point now) {
  if (!settings_.enabled || settings_.max_failures <= 0) return false;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= settings_.max_tracked) {
      if (now - last_sweep_ >= kSweepInterval || now < last_sweep_) sweep(now);
      if (entries_.size() >= settings_.max_tracked) {
        // SECURITY: a full table stops tracking new (user, client) pairs rather than locking
        // everyone out or evicting live counters (which a spray of fresh pairs could use to
        // reset its own). Existing counters and lockouts stay in force.
        if (!warned_full_) {
          core::log(core::LogLevel::Warn,
                    "basic lockout table full ({} pairs): new pairs are not counted until "
                    "entries expire",
                    entries_.size());
          warned_full_ = true;
        }
        return false;
      }
    }
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  if (now < e.locked_until) return true;  // a verification that raced the lockout
  const auto horizon = now - settings_.window;
  std::erase_if(e.failures, [&](Clock::time_point t) { return t <= horizon; });
  e.failures.push_back(now);
  if (e.failures.size() >= static_cast<std::size_t>(settings_.max_failures)) {
    e.locked_until = now + settings_.window;
    e.failures.clear();
    return true;
  }
  return false;
}

void LockoutTable::reset(const KeyedDigest& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

std::size_t LockoutTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void LockoutTable::sweep(Clock::time_point now) {
  last_sweep_ = now;
  const auto horizon = now - settings_.window;
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return now >= e.locked_until && (e.failures.empty() || e.failures.back() <= horizon);
  });
  if (entries_.size() < settings_.max_tracked) warned_full_ = false;
}

// ---- SuccessCache ------------------------------------------------------------------------

bool SuccessCache::contains(const KeyedDigest& key, std::uint64_t instance,
                            Clock::time_point now) const {
  if (!enabled()) return false;
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  return it != entries_.end() && it->second.instance == instance && now < it->second.expires;
}

void SuccessCache::insert(const KeyedDigest& key, std::uint64_t instance, Clock::time_point now) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_ && entries_.find(key) == entries_.end()) {
    if (now - last_sweep_ >= kSweepInterval || now < last_sweep_) {
      last_sweep_ = now;
      std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.expires; });
    }
    if (entries_.size() >= max_entries_) return;
  }
  entries_[key] = Entry{instance, now + ttl_};
}

void SuccessCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::size_t SuccessCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace portcullis::authn

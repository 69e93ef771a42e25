// Assertion key ring: P-256 key generation, RFC 7638 kids, the published JWKS and its KeySet, and
// the lazy rotation (retire the current key, publish it for the overlap, then drop it).
#include "authn/assertion_key_ring.h"

#include <openssl/sha.h>

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "authn/jwt_token.h"
#include "core/log.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;

/// After a failed key generation, the next attempt.
constexpr std::chrono::seconds kRetryAfterFailure{1};

core::Result<std::shared_ptr<const RingKey>> make_ring_key(std::shared_ptr<EVP_PKEY> pkey,
                                                           const std::string& source,
                                                           TimePoint now) {
  auto jwk = public_jwk(pkey.get(), "", "ES256");
  if (!jwk) return core::fail(fmt::format("{}: {}", source, jwk.error().message));
  if ((*jwk)["kty"] != "EC" || (*jwk)["crv"] != "P-256") {
    return core::fail(fmt::format(
        "{}: the assertion signing key must be an EC P-256 key (ES256); this one is {} {}", source,
        (*jwk)["kty"].get<std::string>(), jwk->value("crv", "")));
  }
  auto kid = jwk_thumbprint(*jwk);
  if (!kid) return std::unexpected(kid.error());
  (*jwk)["kid"] = *kid;
  (*jwk)["use"] = "sig";
  auto key = std::make_shared<RingKey>();
  key->kid = std::move(*kid);
  key->key = SigningKey{std::move(pkey), {}};
  key->jwk = std::move(*jwk);
  key->created = now;
  return std::shared_ptr<const RingKey>(std::move(key));
}

core::Result<std::shared_ptr<const RingSnapshot>> make_snapshot(
    std::shared_ptr<const RingKey> current, std::vector<std::shared_ptr<const RingKey>> retired,
    TimePoint next_rotation) {
  auto snapshot = std::make_shared<RingSnapshot>();
  std::vector<json> keys{current->jwk};
  snapshot->next_change = next_rotation;
  for (const auto& key : retired) {
    keys.push_back(key->jwk);
    snapshot->next_change = std::min(snapshot->next_change, key->published_until);
  }
  snapshot->jwks = make_jwks(std::move(keys));
  auto set = KeySet::from_jwks_json(snapshot->jwks.dump(), "the gateway's assertion keys");
  if (!set) return std::unexpected(set.error());
  snapshot->key_set = std::move(*set);
  snapshot->current = std::move(current);
  snapshot->retired = std::move(retired);
  return std::shared_ptr<const RingSnapshot>(std::move(snapshot));
}

}  // namespace

core::Result<std::string> jwk_thumbprint(const json& jwk) {
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return core::fail("the JWK has no kty");
  std::vector<const char*> members;
  if (*kty == "EC") {
    members = {"crv", "kty", "x", "y"};
  } else if (*kty == "RSA") {
    members = {"e", "kty", "n"};
  } else if (*kty == "OKP") {
    members = {"crv", "kty", "x"};
  } else {
    return core::fail(fmt::format("no RFC 7638 thumbprint for kty {}", kty->dump()));
  }
  json required = json::object();  // std::map order: lexicographic, as RFC 7638 §3.2 requires
  for (const char* name : members) {
    const auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) {
      return core::fail(fmt::format("the JWK has no string member \"{}\"", name));
    }
    required[name] = *it;
  }
  const std::string canonical = required.dump();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

AssertionKeyRing::AssertionKeyRing(std::chrono::milliseconds rotate, std::chrono::seconds overlap)
    : rotate_(rotate), overlap_(overlap) {}

core::Result<std::unique_ptr<AssertionKeyRing>> AssertionKeyRing::generated(
    std::chrono::milliseconds rotate, std::chrono::seconds overlap, TimePoint now) {
  auto pkey = generate_ec_key("P-256");
  if (!pkey) return std::unexpected(pkey.error());
  auto key = make_ring_key(std::move(*pkey), "the generated key", now);
  if (!key) return std::unexpected(key.error());
  std::unique_ptr<AssertionKeyRing> ring(new AssertionKeyRing(rotate, overlap));
  const TimePoint next = rotate.count() > 0 ? now + rotate : TimePoint::max();
  auto snapshot = make_snapshot(std::move(*key), {}, next);
  if (!snapshot) return std::unexpected(snapshot.error());
  ring->snapshot_.store(std::move(*snapshot));
  return ring;
}

core::Result<std::unique_ptr<AssertionKeyRing>> AssertionKeyRing::fixed(
    std::shared_ptr<EVP_PKEY> pkey, const std::string& source, TimePoint now) {
  auto key = make_ring_key(std::move(pkey), source, now);
  if (!key) return std::unexpected(key.error());
  std::unique_ptr<AssertionKeyRing> ring(
      new AssertionKeyRing(std::chrono::milliseconds{0}, std::chrono::seconds{0}));
  auto snapshot = make_snapshot(std::move(*key), {}, TimePoint::max());
  if (!snapshot) return std::unexpected(snapshot.error());
  ring->snapshot_.store(std::move(*snapshot));
  return ring;
}

std::shared_ptr<const RingSnapshot> AssertionKeyRing::snapshot(TimePoint now) const {
  auto current = snapshot_.load(std::memory_order_acquire);
  if (now < current->next_change) return current;
  // Only one caller rotates; the others go on with the snapshot they have (still valid).
  std::unique_lock lock(rotating_, std::try_to_lock);
  if (!lock.owns_lock()) return current;
  current = snapshot_.load(std::memory_order_acquire);
  if (now < current->next_change) return current;
  try {
    auto next = maintain(current, now);
    snapshot_.store(next, std::memory_order_release);
    return next;
  } catch (const std::exception& e) {
    core::log(core::LogLevel::Error, "assertion key ring: rotation failed: {}", e.what());
    return current;
  }
}

std::shared_ptr<const RingSnapshot> AssertionKeyRing::maintain(
    std::shared_ptr<const RingSnapshot> old, TimePoint now) const {
  std::vector<std::shared_ptr<const RingKey>> retired;
  std::shared_ptr<const RingKey> current = old->current;
  TimePoint next_rotation = rotate_.count() > 0 ? current->created + rotate_ : TimePoint::max();
  if (now >= next_rotation) {
    auto pkey = generate_ec_key("P-256");
    auto key = pkey ? make_ring_key(std::move(*pkey), "the generated key", now)
                    : core::Result<std::shared_ptr<const RingKey>>(std::unexpected(pkey.error()));
    if (key) {
      // SECURITY: the retired key stays published until every assertion it may have signed has
      // expired: the overlap counts from now, the last moment it could sign.
      auto old_key = std::make_shared<RingKey>(*current);
      old_key->published_until = now + overlap_;
      retired.push_back(std::move(old_key));
      current = std::move(*key);
      next_rotation = now + rotate_;
      core::log(core::LogLevel::Info,
                "assertion key ring: new key {}, retired key {} published "
                "for {} s more",
                current->kid, retired.front()->kid, overlap_.count());
    } else {
      core::log(core::LogLevel::Error, "assertion key ring: a new key could not be generated: {}",
                key.error().message);
      next_rotation = now + kRetryAfterFailure;
    }
  }
  for (const auto& key : old->retired) {
    if (now < key->published_until) retired.push_back(key);
  }
  auto snapshot = make_snapshot(current, std::move(retired), next_rotation);
  if (!snapshot) {
    core::log(core::LogLevel::Error, "assertion key ring: {}", snapshot.error().message);
    return old;
  }
  return std::move(*snapshot);
}

}  // namespace portcullis::authn

// VerdictCache: hits and misses by chain key, only successes cached, the LRU bound, and every
// expiry bound (TTL, the presented certificates' notAfter, the CRLs' nextUpdate).
#include "pki/verdict_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "verify_fixture.h"

namespace portcullis::pki {
namespace {

using testing::kDay;
using testing::pki;
using testing::TestPki;
using Clock = VerdictCache::Clock;

std::shared_ptr<const Verdict> verdict_of(const TrustStore& store,
                                          const std::vector<X509*>& presented) {
  return std::make_shared<const Verdict>(verify_chain(store, presented, VerifyPolicy{}));
}

TEST(VerdictCache, RemembersASuccessByChainKey) {
  const TestPki& p = pki();
  auto store = p.store();
  VerdictCache cache(*store);
  const std::vector<X509*> chain{p.leaf1.cert.get(), p.int1.cert.get()};
  const auto key = chain_cache_key(chain);
  const auto now = Clock::now();
  EXPECT_EQ(cache.find(key, now), nullptr);
  auto v = verdict_of(*store, chain);
  ASSERT_TRUE(v->ok()) << v->detail();
  cache.insert(key, v, chain, now);
  EXPECT_EQ(cache.find(key, now), v);
  EXPECT_EQ(cache.size(), 1u);
  // Another chain (or the same certificates in another order) is another key.
  EXPECT_EQ(cache.find(chain_cache_key({p.int1.cert.get(), p.leaf1.cert.get()}), now), nullptr);
  EXPECT_EQ(cache.find("", now), nullptr);
}

TEST(VerdictCache, NeverCachesFailuresOrUnhashableChains) {
  const TestPki& p = pki();
  auto store = p.store();
  VerdictCache cache(*store);
  const std::vector<X509*> chain{p.other_leaf.cert.get(), p.other_int.cert.get()};
  auto v = verdict_of(*store, chain);
  ASSERT_FALSE(v->ok());
  const auto now = Clock::now();
  cache.insert(chain_cache_key(chain), v, chain, now);
  EXPECT_EQ(cache.size(), 0u);
  const std::vector<X509*> good{p.leaf1.cert.get(), p.int1.cert.get()};
  cache.insert("", verdict_of(*store, good), good, now);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerdictCache, EntriesExpireAfterTheTtl) {
  const TestPki& p = pki();
  auto store = p.store();
  VerdictCache cache(*store, 16, std::chrono::seconds(60));
  const std::vector<X509*> chain{p.leaf1.cert.get(), p.int1.cert.get()};
  const auto key = chain_cache_key(chain);
  const auto now = Clock::now();
  cache.insert(key, verdict_of(*store, chain), chain, now);
  EXPECT_NE(cache.find(key, now + std::chrono::seconds(59)), nullptr);
  EXPECT_EQ(cache.find(key, now + std::chrono::seconds(60)), nullptr);
  EXPECT_EQ(cache.size(), 0u);  // the stale entry is gone
}

TEST(VerdictCache, AnEntryNeverOutlivesTheLeafOrTheCrl) {
  const TestPki& p = pki();
  // A leaf that expires in two hours: the entry must not survive it, whatever the TTL.
  CertSpec s = testing::leaf_spec("CN=client-short-lived", &p.int1);
  s.not_after = std::chrono::hours(2);
  const IssuedCert short_lived = testing::must_issue(s);
  auto store = p.store();
  VerdictCache cache(*store, 16, std::chrono::hours(24 * 30));
  const std::vector<X509*> chain{short_lived.cert.get(), p.int1.cert.get()};
  const auto key = chain_cache_key(chain);
  const auto now = Clock::now();
  cache.insert(key, verdict_of(*store, chain), chain, now);
  EXPECT_NE(cache.find(key, now + std::chrono::minutes(110)), nullptr);
  EXPECT_EQ(cache.find(key, now + std::chrono::minutes(130)), nullptr);

  // With CRLs, the earliest nextUpdate (7 days here) bounds every entry.
  std::vector<X509CrlPtr> crls;
  crls.push_back(TestPki::crl_ref(p.int1_crl.get()));
  crls.push_back(TestPki::crl_ref(p.root_crl.get()));
  auto with_crl = p.store({}, std::move(crls));
  VerdictCache crl_cache(*with_crl, 16, std::chrono::hours(24 * 30));
  const std::vector<X509*> good{p.leaf1.cert.get(), p.int1.cert.get()};
  const auto good_key = chain_cache_key(good);
  const auto good_verdict = verdict_of(*with_crl, good);
  ASSERT_TRUE(good_verdict->ok()) << good_verdict->detail();
  crl_cache.insert(good_key, good_verdict, good, now);
  EXPECT_NE(crl_cache.find(good_key, now + 6 * kDay), nullptr);
  EXPECT_EQ(crl_cache.find(good_key, now + 8 * kDay), nullptr);
}

TEST(VerdictCache, EvictsTheLeastRecentlyUsedBeyondCapacity) {
  const TestPki& p = pki();
  auto store = p.store(testing::refs({p.int1.cert.get()}));
  VerdictCache cache(*store, 2);
  const std::vector<X509*> a{p.leaf1.cert.get(), p.int1.cert.get()};
  const std::vector<X509*> b{p.leaf1.cert.get()};  // int1 found in the intermediates file
  const std::vector<X509*> c{p.no_eku.cert.get(), p.int1.cert.get()};
  const auto now = Clock::now();
  for (const auto* chain : {&a, &b}) {
    cache.insert(chain_cache_key(*chain), verdict_of(*store, *chain), *chain, now);
  }
  ASSERT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.find(chain_cache_key(a), now), nullptr);  // a is now the most recent
  cache.insert(chain_cache_key(c), verdict_of(*store, c), c, now);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.find(chain_cache_key(a), now), nullptr);
  EXPECT_EQ(cache.find(chain_cache_key(b), now), nullptr);
  EXPECT_NE(cache.find(chain_cache_key(c), now), nullptr);
}

TEST(VerdictCache, SharedByThreads) {
  const TestPki& p = pki();
  auto store = p.store();
  VerdictCache cache(*store, 8);
  const std::vector<X509*> chain{p.leaf1.cert.get(), p.int1.cert.get()};
  const auto key = chain_cache_key(chain);
  const auto v = verdict_of(*store, chain);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        cache.insert(key, v, chain, Clock::now());
        EXPECT_EQ(cache.find(key, Clock::now()), v);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace portcullis::pki

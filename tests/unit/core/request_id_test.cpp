// Request ids: fixed shape, and unique within a thread and across threads.
#include "core/request_id.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace portcullis::core {
namespace {

bool is_lower_hex(const std::string& s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(RequestId, TwentyLowercaseHexCharacters) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_request_id();
    EXPECT_EQ(id.size(), 20u) << id;
    EXPECT_TRUE(is_lower_hex(id)) << id;
  }
}

TEST(RequestId, UniqueAcrossManyCalls) {
  std::unordered_set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(new_request_id());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(RequestId, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::vector<std::vector<std::string>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&per_thread, t] {
      per_thread[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) per_thread[t].push_back(new_request_id());
    });
  }
  for (auto& thread : threads) thread.join();

  std::unordered_set<std::string> ids;
  for (const auto& list : per_thread) {
    for (const auto& id : list) {
      EXPECT_EQ(id.size(), 20u);
      ids.insert(id);
    }
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace portcullis::core

// The recent-denials ring behind admin GET /denials/<request-id>: lookup, the bound, JSON.
#include "metrics/recent_denials.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace portcullis::metrics {
namespace {

DenialRecord denial(std::string id, std::string code = "authn.required") {
  return {std::move(id), "2026-11-22T02:00:00Z", "public", "api",
          401,           std::move(code),        "authn",  "no credentials"};
}

TEST(RecentDenials, FindsByRequestId) {
  RecentDenials ring;
  ring.record(denial("a"));
  ring.record(denial("b", "jwt.expired"));
  ASSERT_TRUE(ring.find("b"));
  EXPECT_EQ(ring.find("b")->code, "jwt.expired");
  EXPECT_FALSE(ring.find("c"));
}

TEST(RecentDenials, DropsTheOldestBeyondCapacity) {
  RecentDenials ring(3);
  for (const char* id : {"1", "2", "3", "4"}) ring.record(denial(id));
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_FALSE(ring.find("1"));
  EXPECT_TRUE(ring.find("4"));
  RecentDenials none(0);
  none.record(denial("x"));
  EXPECT_EQ(none.size(), 0u);
}

TEST(RecentDenials, ConcurrentWritersStayBounded) {
  RecentDenials ring(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&ring, t] {
      for (int i = 0; i < 200; ++i) ring.record(denial(std::to_string(t * 1000 + i)));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ring.size(), 50u);
}

TEST(RecentDenials, Json) {
  auto rec = denial("id\"1");
  rec.detail = "quote \" and newline \n";
  const auto j = nlohmann::json::parse(denial_record_json(rec));
  EXPECT_EQ(j["request_id"], "id\"1");
  EXPECT_EQ(j["status"], 401);
  EXPECT_EQ(j["code"], "authn.required");
  EXPECT_EQ(j["route"], "api");
  EXPECT_EQ(j["detail"], "quote \" and newline \n");
}

}  // namespace
}  // namespace portcullis::metrics

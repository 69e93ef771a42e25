// Timestamp formats of a fixed time point: RFC 3339 (logs, evidence) and IMF-fixdate (HTTP).
#include "core/clock.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-11-21T23:52:39Z, a Saturday.
const SystemTime kFixed{seconds{1795305159}};

TEST(Clock, Rfc3339) {
  EXPECT_EQ(rfc3339(kFixed), "2026-11-21T23:52:39.000Z");
  EXPECT_EQ(rfc3339(kFixed + milliseconds{123}), "2026-11-21T23:52:39.123Z");
  EXPECT_EQ(rfc3339(kFixed + std::chrono::microseconds{999999}), "2026-11-21T23:52:39.999Z");
  EXPECT_EQ(rfc3339(SystemTime{}), "1970-01-01T00:00:00.000Z");
  // 2000-02-29T00:00:05Z: leap day.
  EXPECT_EQ(rfc3339(SystemTime{seconds{951782405}} + milliseconds{7}), "2000-02-29T00:00:05.007Z");
}

TEST(Clock, HttpDate) {
  EXPECT_EQ(http_date(kFixed), "Sat, 21 Nov 2026 23:52:39 GMT");
  EXPECT_EQ(http_date(kFixed + milliseconds{999}), "Sat, 21 Nov 2026 23:52:39 GMT");
  EXPECT_EQ(http_date(SystemTime{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(SystemTime{seconds{951782405}}), "Tue, 29 Feb 2000 00:00:05 GMT");
}

}  // namespace
}  // namespace portcullis::core

// Command-line times: RFC 3339 with zones and fractions, dates, Unix seconds; no zone refused.
#include "diag/time_arg.h"

#include <gtest/gtest.h>

namespace portcullis::diag {
namespace {

using std::chrono::system_clock;

std::int64_t unix_seconds(std::string_view text) {
  auto t = parse_time_arg(text);
  EXPECT_TRUE(t) << text;
  return t ? std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count() : -1;
}

TEST(TimeArg, Formats) {
  EXPECT_EQ(unix_seconds("2024-04-01T00:00:00Z"), 1711929600);
  EXPECT_EQ(unix_seconds("2024-04-01T02:00:00+02:00"), 1711929600);
  EXPECT_EQ(unix_seconds("2024-03-31T19:00:00-05:00"), 1711929600);
  EXPECT_EQ(unix_seconds("2024-04-01 00:00:00z"), 1711929600);
  EXPECT_EQ(unix_seconds("2024-04-01"), 1711929600);
  EXPECT_EQ(unix_seconds("@1711929600"), 1711929600);
  EXPECT_EQ(unix_seconds("1970-01-01T00:00:03+00:00"), 3);
}

TEST(TimeArg, FractionsAreKept) {
  auto t = parse_time_arg("2024-04-01T00:00:00.005+00:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count(),
            1711929600005);
}

TEST(TimeArg, Refused) {
  for (const char* bad : {"", "yesterday", "2024-04-01T00:00:00", "2024-13-01", "2024-02-30",
                          "2024-04-01T25:00:00Z", "2024-04-01T00:00:00+2", "@", "@12x",
                          "2024-04-01T00:00:00Zjunk", "2024-04-01T00:00:00.Z"}) {
    EXPECT_FALSE(parse_time_arg(bad)) << bad;
  }
}

}  // namespace
}  // namespace portcullis::diag

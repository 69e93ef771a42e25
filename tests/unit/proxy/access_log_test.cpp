// Access-log line format: every DESIGN.md field, valid JSON, one line.
#include "proxy/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace portcullis::proxy {
namespace {

TEST(AccessLine, HasEveryFieldAndIsOneJsonLine) {
  AccessRecord r;
  r.ts = "2026-11-21T00:00:00.000Z";
  r.request_id = "abc";
  r.listener = "public";
  r.route = "api";
  r.client_ip = "127.0.0.1";
  r.method = "GET";
  r.path = "/a\"b\n";
  r.status = 502;
  r.code = "upstream.reset";
  r.stage = "forward";
  r.duration_ms = 1.5;
  r.upstream = "app 127.0.0.1:9000";
  r.bytes_in = 10;
  r.bytes_out = 20;
  r.tls_version = "TLSv1.3";
  std::string line;
  format_access_line(line, r);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  for (const char* key : {"ts",
                          "request_id",
                          "listener",
                          "route",
                          "client_ip",
                          "method",
                          "path",
                          "status",
                          "code",
                          "stage",
                          "duration_ms",
                          "upstream",
                          "upstream_status",
                          "bytes_in",
                          "bytes_out",
                          "tls_version",
                          "ssl_client_verify",
                          "client_subject",
                          "client_issuer",
                          "client_serial",
                          "client_sha256",
                          "auth_method",
                          "user",
                          "detail"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["path"], "/a\"b\n");
  EXPECT_EQ(j["status"], 502);
  EXPECT_TRUE(j["upstream_status"].is_null());
  EXPECT_EQ(j["ssl_client_verify"], "NONE");
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 1.5);
}

TEST(AccessLog, OffWritesNothingAndFileAppends) {
  config::LogConfig off;
  off.access = config::AccessLogTarget::Off;
  auto log = AccessLog::open(off);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->enabled());

  const std::string path = ::testing::TempDir() + "/access_log_test.log";
  std::remove(path.c_str());
  config::LogConfig file;
  file.access = config::AccessLogTarget::File;
  file.access_file = path;
  {
    auto f = AccessLog::open(file);
    ASSERT_TRUE(f);
    AccessRecord r;
    r.request_id = "one";
    f->write(r);
    r.request_id = "two";
    f->write(r);
  }
  std::FILE* in = std::fopen(path.c_str(), "r");
  ASSERT_NE(in, nullptr);
  char buf[4096];
  int lines = 0;
  while (std::fgets(buf, sizeof buf, in)) {
    const auto j = nlohmann::json::parse(buf);
    EXPECT_EQ(j["request_id"], lines == 0 ? "one" : "two");
    ++lines;
  }
  std::fclose(in);
  EXPECT_EQ(lines, 2);
}

TEST(AccessLog, UnwritableFileIsAnError) {
  config::LogConfig file;
  file.access = config::AccessLogTarget::File;
  file.access_file = "/nonexistent-dir/x.log";
  auto f = AccessLog::open(file);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("/nonexistent-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::proxy

// The access log: one JSON object per request and line (DESIGN.md "Access log"), written with a
// single write(2) per line so lines from different workers never interleave and no lock is taken.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "core/result.h"

namespace portcullis::proxy {

/// Everything one access-log line says. Strings left empty are written as "".
struct AccessRecord {
  std::string ts;  ///< RFC 3339, request start
  std::string request_id;
  std::string listener;
  std::string route;
  std::string client_ip;
  std::string method;
  std::string path;
  int status = 0;
  std::string code = "ok";  ///< "ok" or the denial code
  std::string stage;        ///< the stage that decided: a denial's stage, "forward" when proxied
  double duration_ms = 0;
  std::string upstream;     ///< "name endpoint" tried
  int upstream_status = 0;  ///< 0 = none
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::string tls_version;
  std::string ssl_client_verify = "NONE";
  std::string client_subject, client_issuer, client_serial, client_sha256;
  std::string auth_method;
  std::string user;
  std::string detail;
};

/// Appends the JSON line (with trailing newline) for `r` to `out`.
void format_access_line(std::string& out, const AccessRecord& r);

class AccessLog {
 public:
  /// Opens the sink named by the config (stdout, stderr, a file opened O_APPEND, or off).
  static core::Result<AccessLog> open(const config::LogConfig& log);
  AccessLog(AccessLog&& other) noexcept;
  AccessLog& operator=(AccessLog&&) = delete;
  ~AccessLog();

  bool enabled() const { return fd_ >= 0; }
  void write(const AccessRecord& r) const;

 private:
  AccessLog(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_ = -1;
  bool owned_ = false;
};

}  // namespace portcullis::proxy

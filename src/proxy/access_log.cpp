// Access-log formatting (core::JsonObjectWriter) and the lock-free line sink.
#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/json_writer.h"

namespace portcullis::proxy {

void format_access_line(std::string& out, const AccessRecord& r) {
  core::JsonObjectWriter w(out);
  w.str("ts", r.ts)
      .str("request_id", r.request_id)
      .str("listener", r.listener)
      .str("route", r.route)
      .str("client_ip", r.client_ip)
      .str("method", r.method)
      .str("path", r.path)
      .num("status", static_cast<std::int64_t>(r.status))
      .str("code", r.code)
      .str("stage", r.stage)
      .num("duration_ms", r.duration_ms)
      .str("upstream", r.upstream);
  if (r.upstream_status > 0) {
    w.num("upstream_status", static_cast<std::int64_t>(r.upstream_status));
  } else {
    w.null("upstream_status");
  }
  w.num("bytes_in", static_cast<std::int64_t>(r.bytes_in))
      .num("bytes_out", static_cast<std::int64_t>(r.bytes_out))
      .str("tls_version", r.tls_version)
      .str("ssl_client_verify", r.ssl_client_verify)
      .str("client_subject", r.client_subject)
      .str("client_issuer", r.client_issuer)
      .str("client_serial", r.client_serial)
      .str("client_sha256", r.client_sha256)
      .str("auth_method", r.auth_method)
      .str("user", r.user)
      .str("detail", r.detail);
  w.finish();
  out += '\n';
}

core::Result<AccessLog> AccessLog::open(const config::LogConfig& log) {
  switch (log.access) {
    case config::AccessLogTarget::Off:
      return AccessLog(-1, false);
    case config::AccessLogTarget::Stdout:
      return AccessLog(STDOUT_FILENO, false);
    case config::AccessLogTarget::Stderr:
      return AccessLog(STDERR_FILENO, false);
    case config::AccessLogTarget::File:
      break;
  }
  const int fd = ::open(log.access_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return core::fail("cannot open access log \"" + log.access_file + "\": " + std::strerror(errno),
                      "log.access");
  }
  return AccessLog(fd, true);
}

AccessLog::AccessLog(AccessLog&& other) noexcept : fd_(other.fd_), owned_(other.owned_) {
  other.fd_ = -1;
  other.owned_ = false;
}

AccessLog::~AccessLog() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void AccessLog::write(const AccessRecord& r) const {
  if (fd_ < 0) return;
  std::string line;
  line.reserve(768);
  format_access_line(line, r);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not stop the data plane
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace portcullis::proxy

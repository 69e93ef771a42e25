// The probe's connection (a socket with optional TLS, bounded by timeouts) and HTTP head parsing.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/ascii.h"
#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, remaining_ms(deadline)) > 0;
}

/// How much of the body to wait for: the Content-Length when the head has one (a server that
/// keeps the connection open must not cost the whole timeout), at most `limit`.
size_t body_wanted(const std::string& head, size_t limit) {
  const std::string lowered = core::ascii_lower(head);
  const auto at = lowered.find("\r\ncontent-length:");
  if (at == std::string::npos) return limit;
  size_t value = 0;
  const char* p = lowered.c_str() + at + 17;
  while (*p == ' ' || *p == '\t') ++p;
  const auto [end, ec] = std::from_chars(p, lowered.c_str() + lowered.size(), value);
  if (ec != std::errc{} || end == p) return limit;
  return std::min(value, limit);
}

}  // namespace

std::string Target::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Connection::~Connection() {
  if (ssl != nullptr) SSL_free(ssl);
  if (fd >= 0) ::close(fd);
}

std::string Connection::write_all(std::string_view data, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    if (ssl != nullptr) {
      const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      const int err = SSL_get_error(ssl, n);
      if ((err == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline)) ||
          (err == SSL_ERROR_WANT_WRITE && wait_fd(fd, POLLOUT, deadline)))
        continue;
      return "TLS write failed";
    }
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
               wait_fd(fd, POLLOUT, deadline)) {
      continue;
    } else {
      return std::string("write failed: ") + std::strerror(errno);
    }
  }
  return "";
}

std::string Connection::read_response(std::chrono::milliseconds timeout, size_t body_limit,
                                      std::string& error) {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  char buf[8192];
  for (;;) {
    const auto head_end = out.find("\r\n\r\n");
    if (head_end != std::string::npos &&
        out.size() >= head_end + 4 + body_wanted(out.substr(0, head_end), body_limit))
      return out;
    ssize_t n = 0;
    if (ssl != nullptr) {
      const int r = SSL_read(ssl, buf, sizeof buf);
      if (r > 0) {
        n = r;
      } else {
        const int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          if (remaining_ms(deadline) == 0 ||
              !wait_fd(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            error = "timed out";
            return out;
          }
          continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN) return out;
        error = err == SSL_ERROR_SYSCALL ? "connection closed without TLS close_notify"
                                         : "TLS read failed";
        ERR_clear_error();
        return out;
      }
    } else {
      if (!wait_fd(fd, POLLIN, deadline)) {
        error = "timed out";
        return out;
      }
      n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) return out;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        error = std::string("read failed: ") + std::strerror(errno);
        return out;
      }
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 1024 * 1024) return out;
  }
}

std::vector<std::string> HttpHead::all(std::string_view name) const {
  std::vector<std::string> out;
  const std::string want = core::ascii_lower(name);
  for (const auto& [k, v] : headers) {
    if (core::ascii_lower(k) == want) out.push_back(v);
  }
  return out;
}

std::string HttpHead::get(std::string_view name) const {
  const auto values = all(name);
  return values.empty() ? std::string() : values.front();
}

std::optional<HttpHead> parse_http_head(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return std::nullopt;
  HttpHead head;
  const std::string_view text(raw.data(), head_end == std::string::npos ? raw.size() : head_end);
  size_t line_end = text.find("\r\n");
  const std::string_view status_line = text.substr(0, line_end);
  try {
    head.status = std::stoi(std::string(status_line.substr(9, 3)));
  } catch (...) {
    return std::nullopt;
  }
  head.reason =
      status_line.size() > 13 ? std::string(core::trim_ascii_space(status_line.substr(13))) : "";
  while (line_end != std::string_view::npos) {
    const size_t start = line_end + 2;
    line_end = text.find("\r\n", start);
    const std::string_view line = text.substr(
        start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    head.headers.emplace_back(core::trim_ascii_space(line.substr(0, colon)),
                              core::trim_ascii_space(line.substr(colon + 1)));
  }
  if (head_end != std::string::npos) head.body = raw.substr(head_end + 4);
  return head;
}

std::vector<std::string> auth_schemes(const std::vector<std::string>& challenges) {
  std::vector<std::string> out;
  for (const auto& c : challenges) {
    // A header may carry several challenges: "Negotiate, NTLM" or "Basic realm=\"a, b\", Bearer".
    bool in_quotes = false;
    bool at_token_start = true;
    std::string token;
    for (size_t i = 0; i <= c.size(); ++i) {
      const char ch = i < c.size() ? c[i] : ',';
      if (ch == '"') in_quotes = !in_quotes;
      if (in_quotes) continue;
      if (ch == ',' || ch == ' ') {
        if (!token.empty() && at_token_start && token.find('=') == std::string::npos) {
          bool known = false;
          for (const auto& s : out)
            known = known || core::ascii_lower(s) == core::ascii_lower(token);
          if (!known) out.push_back(token);
        }
        if (!token.empty()) at_token_start = false;
        if (ch == ',') at_token_start = true;
        token.clear();
        continue;
      }
      token += ch;
    }
  }
  return out;
}

std::string basic_credentials(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

}  // namespace portcullis::diag

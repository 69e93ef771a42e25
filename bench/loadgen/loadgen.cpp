// The benchmark load generator: one thread, epoll, non-blocking OpenSSL, a client certificate on
// every connection. Modes: keep-alive throughput and latency, full and resumed handshakes per
// second, N idle established connections (held until stdin closes). Prints one JSON object.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/sockets.h"

namespace {

/// Command-line settings (see usage()).
struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string mode = "keepalive";  // keepalive | handshake | resume | idle | probe
  int connections = 50;
  double duration = 5.0;
  double warmup = 0.5;
  int count = 1000;  // idle mode: connections to hold
  bool plain = false;
  std::string cert, key, ca, path = "/bench", host_header = "bench.test";
  bool verify = false;
  bool resume_idle = false;   // idle mode: open with resumed handshakes after one full one
  std::vector<int> cpu_pids;  // processes whose CPU time is reported for the measured window
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: loadgen --port P [--host H] [--mode keepalive|handshake|resume|idle|probe]\n"
               "  [--connections C] [--duration S] [--warmup S] [--count N] [--plain]\n"
               "  [--cert CHAIN.pem --key KEY.pem] [--ca CA.pem --verify] [--path /p]\n"
               "  [--resume-idle] [--cpu-pids PID,PID...]\n");
  std::exit(2);
}

std::vector<int> pid_list(const std::string& list) {
  std::vector<int> out;
  for (std::size_t at = 0; at < list.size();) {
    const auto comma = list.find(',', at);
    out.push_back(std::atoi(list.substr(at, comma - at).c_str()));
    at = comma == std::string::npos ? list.size() : comma + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = std::atoi(next().c_str());
    else if (a == "--mode")
      o.mode = next();
    else if (a == "--connections")
      o.connections = std::atoi(next().c_str());
    else if (a == "--duration")
      o.duration = std::atof(next().c_str());
    else if (a == "--warmup")
      o.warmup = std::atof(next().c_str());
    else if (a == "--count")
      o.count = std::atoi(next().c_str());
    else if (a == "--plain")
      o.plain = true;
    else if (a == "--cert")
      o.cert = next();
    else if (a == "--key")
      o.key = next();
    else if (a == "--ca")
      o.ca = next();
    else if (a == "--verify")
      o.verify = true;
    else if (a == "--path")
      o.path = next();
    else if (a == "--resume-idle")
      o.resume_idle = true;
    else if (a == "--cpu-pids")
      o.cpu_pids = pid_list(next());
    else
      usage();
  }
  if (o.port <= 0) usage();
  return o;
}

/// CPU seconds used so far by processes (all their threads), from /proc: user space and kernel
/// (system time; on loopback it includes the receiver's TCP input that a send runs inline).
struct CpuTimes {
  double user = 0;
  double system = 0;
  double total() const { return user + system; }
  CpuTimes operator-(const CpuTimes& since) const {
    return {user - since.user, system - since.system};
  }
};

/// This process's user + system CPU so far, in seconds.
double own_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

CpuTimes cpu_times(const std::vector<int>& pids) {
  const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  CpuTimes total;
  for (int pid : pids) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) continue;
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) continue;
    // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
    unsigned long long utime = 0, stime = 0;
    int field = 2;
    for (const char* q = p + 1; *q && field < 15; ++q) {
      if (*q != ' ') continue;
      ++field;
      if (field == 14) utime = std::strtoull(q + 1, nullptr, 10);
      if (field == 15) stime = std::strtoull(q + 1, nullptr, 10);
    }
    total.user += static_cast<double>(utime) / tick;
    total.system += static_cast<double>(stime) / tick;
  }
  return total;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// One client connection and where it is in its life.
struct Conn {
  enum class State { Connecting, Handshaking, Writing, Reading, Idle, Closed };
  int fd = -1;
  SSL* ssl = nullptr;
  State state = State::Closed;
  std::string in;
  std::size_t sent = 0;
  double request_start = 0;
  SSL_SESSION* session = nullptr;  ///< the latest ticket received (resume mode)
  int slot = 0;
};

/// Totals reported at the end.
struct Stats {
  std::uint64_t responses = 0;
  std::uint64_t bad_status = 0;
  std::uint64_t errors = 0;
  std::uint64_t handshakes = 0;
  std::uint64_t reused = 0;
  std::vector<std::uint32_t> latency_us;
  std::string first_body;
  int first_status = 0;
};

class LoadGen {
 public:
  explicit LoadGen(Options o) : o_(std::move(o)) {}

  int run() {
    if (!setup()) return 1;
    if (o_.mode == "idle") return run_idle();
    return run_timed();
  }

 private:
  bool setup() {
    portcullis::bench::raise_fd_limit();
    std::memset(&addr_, 0, sizeof addr_);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) {
      std::fprintf(stderr, "loadgen: not an IPv4 address: %s\n", o_.host.c_str());
      return false;
    }
    request_ = "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.host_header + "\r\n\r\n";
    ep_ = epoll_create1(0);
    if (o_.plain) return true;
    ctx_ = SSL_CTX_new(TLS_client_method());
    // The same protocol, cipher and key exchange for every server, so their costs compare.
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx_, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set1_groups_list(ctx_, "X25519");
    // The generator must cost as little per request as it can: on two cores it shares one with
    // the upstream, and a generator that is the bottleneck hides the differences between servers.
    // Read-ahead takes a record (header and body) in one read(); buffers are kept between
    // records except with the thousands of idle connections, where memory matters more.
    SSL_CTX_set_read_ahead(ctx_, 1);
    if (o_.mode == "idle") SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
    if (!o_.cert.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_, o_.cert.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx_, o_.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        std::fprintf(stderr, "loadgen: cannot load client certificate/key\n");
        ERR_print_errors_fp(stderr);
        return false;
      }
    }
    if (o_.verify) {
      SSL_CTX_load_verify_locations(ctx_, o_.ca.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
      // The server chain check is client-side work that would only slow the generator down.
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
    if (o_.mode == "resume" || o_.resume_idle) {
      SSL_CTX_set_session_cache_mode(ctx_,
                                     SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(ctx_, [](SSL* ssl, SSL_SESSION* s) -> int {
        auto* c = static_cast<Conn*>(SSL_get_app_data(ssl));
        if (c == nullptr) return 0;
        if (c->session) SSL_SESSION_free(c->session);
        c->session = s;
        return 1;
      });
    } else {
      SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    }
    return true;
  }

  // ---- connection life ------------------------------------------------------------------------

  bool open(Conn& c, SSL_SESSION* resume) {
    c.fd = portcullis::bench::nodelay_socket();
    if (c.fd < 0) {
      std::fprintf(stderr, "loadgen: socket: %s\n", std::strerror(errno));
      return false;
    }
    c.in.clear();
    c.sent = 0;
    if (!o_.plain) {
      c.ssl = SSL_new(ctx_);
      SSL_set_fd(c.ssl, c.fd);
      SSL_set_app_data(c.ssl, &c);
      SSL_set_tlsext_host_name(c.ssl, o_.host_header.c_str());
      if (resume) SSL_set_session(c.ssl, resume);
    }
    const int r = connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
    if (r != 0 && errno != EINPROGRESS) {
      std::fprintf(stderr, "loadgen: connect: %s\n", std::strerror(errno));
      close_conn(c);
      return false;
    }
    c.state = Conn::State::Connecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    ++open_;
    return true;
  }

  void close_conn(Conn& c) {
    if (c.ssl) {
      SSL_set_app_data(c.ssl, nullptr);
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    if (c.fd >= 0) {
      close(c.fd);  // also removes it from the epoll set
      c.fd = -1;
      --open_;
    }
    c.state = Conn::State::Closed;
  }

  void fail(Conn& c) {
    ++stats_.errors;
    ERR_clear_error();
    close_conn(c);
  }

  /// Drives `c` until it would block. Returns when the connection waits, finished or failed.
  void step(Conn& c, std::uint32_t events) {
    for (;;) {
      switch (c.state) {
        case Conn::State::Connecting: {
          if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) return fail(c);
          c.state = o_.plain ? Conn::State::Writing : Conn::State::Handshaking;
          break;
        }
        case Conn::State::Handshaking: {
          const int r = SSL_connect(c.ssl);
          if (r == 1) {
            ++stats_.handshakes;
            if (SSL_session_reused(c.ssl)) ++stats_.reused;
            c.state = Conn::State::Writing;
            break;
          }
          const int e = SSL_get_error(c.ssl, r);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
          return fail(c);
        }
        case Conn::State::Writing: {
          if (c.sent == 0) c.request_start = now_s();
          const char* p = request_.data() + c.sent;
          const int left = static_cast<int>(request_.size() - c.sent);
          if (o_.plain) {
            const ssize_t n = send(c.fd, p, static_cast<std::size_t>(left), MSG_NOSIGNAL);
            if (n < 0) {
              if (errno == EAGAIN) return;
              return fail(c);
            }
            c.sent += static_cast<std::size_t>(n);
          } else {
            const int n = SSL_write(c.ssl, p, left);
            if (n <= 0) {
              const int e = SSL_get_error(c.ssl, n);
              if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
              return fail(c);
            }
            c.sent += static_cast<std::size_t>(n);
          }
          if (c.sent == request_.size()) {
            c.sent = 0;
            c.state = Conn::State::Reading;
            // The answer cannot be there yet: its arrival is the next edge. Reading now would
            // only cost a read() that says EAGAIN.
            if (o_.mode == "keepalive" && (c.ssl == nullptr || SSL_has_pending(c.ssl) == 0)) return;
          }
          break;
        }
        case Conn::State::Reading:
        case Conn::State::Idle: {
          char buf[16384];
          int n;
          if (o_.plain) {
            const ssize_t r = recv(c.fd, buf, sizeof buf, 0);
            if (r < 0 && errno == EAGAIN) return;
            n = static_cast<int>(r);
            if (n <= 0) return peer_closed(c);
          } else {
            n = SSL_read(c.ssl, buf, sizeof buf);
            if (n <= 0) {
              const int e = SSL_get_error(c.ssl, n);
              if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
              return peer_closed(c);
            }
          }
          if (c.state == Conn::State::Idle) continue;  // unexpected data while idle: drop it
          c.in.append(buf, static_cast<std::size_t>(n));
          int status = 0;
          std::size_t body_at = 0, total = 0;
          bool closes = false;
          if (!complete(c.in, status, body_at, total, closes)) break;
          on_response(c, status, body_at, total, closes);
          if (c.state == Conn::State::Closed) return;
          break;
        }
        case Conn::State::Closed:
          return;
      }
    }
  }

  void peer_closed(Conn& c) {
    if (c.state == Conn::State::Idle) {
      ++closed_while_idle_;
      close_conn(c);
      return;
    }
    fail(c);
  }

  /// Where `lower` (lower case) starts in `text`, ignoring the case of `text`.
  static std::size_t find_lower(std::string_view text, std::string_view lower) {
    if (lower.size() > text.size()) return std::string_view::npos;
    for (std::size_t at = 0; at + lower.size() <= text.size(); ++at) {
      std::size_t i = 0;
      while (i < lower.size() &&
             std::tolower(static_cast<unsigned char>(text[at + i])) == lower[i]) {
        ++i;
      }
      if (i == lower.size()) return at;
    }
    return std::string_view::npos;
  }

  /// True when `in` holds a whole response (Content-Length or chunked framing).
  static bool complete(const std::string& in, int& status, std::size_t& body_at, std::size_t& total,
                       bool& closes) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    body_at = end + 4;
    if (in.size() < 12) return false;
    status = std::atoi(in.c_str() + 9);
    const std::string_view head(in.data(), end);  // searched in place: this runs per response
    closes = find_lower(head, "\r\nconnection: close") != std::string_view::npos;
    if (const auto cl = find_lower(head, "\r\ncontent-length:"); cl != std::string_view::npos) {
      const std::size_t len = std::strtoull(in.c_str() + cl + 17, nullptr, 10);
      total = body_at + len;
      return in.size() >= total;
    }
    if (find_lower(head, "\r\ntransfer-encoding: chunked") != std::string_view::npos) {
      const auto last = in.find("0\r\n\r\n", body_at);
      if (last == std::string::npos) return false;
      if (last != body_at && in.compare(last - 2, 2, "\r\n") != 0) return false;
      total = last + 5;
      return true;
    }
    total = body_at;  // no body (e.g. 204) is not expected here
    return true;
  }

  void on_response(Conn& c, int status, std::size_t body_at, std::size_t total, bool closes) {
    const double t = now_s();
    const bool measuring = t >= measure_from_ && c.request_start >= measure_from_ && t <= until_;
    if (stats_.first_status == 0) {
      stats_.first_status = status;
      stats_.first_body = c.in.substr(body_at, std::min<std::size_t>(total - body_at, 512));
    }
    if (measuring || o_.mode == "idle" || o_.mode == "probe") {
      ++stats_.responses;
      if (status < 200 || status > 299) ++stats_.bad_status;
      if (o_.mode == "keepalive") {
        stats_.latency_us.push_back(static_cast<std::uint32_t>((t - c.request_start) * 1e6));
      }
    } else if (o_.mode != "keepalive" && t < measure_from_) {
      // handshakes/reuse counted only inside the window: undo the warm-up ones
      ++warm_connections_;
    }
    c.in.erase(0, total);
    if (o_.mode == "keepalive" && closes) {
      // The server ends keep-alive (e.g. a request limit): reconnect, not an error.
      ++server_closes_;
      close_conn(c);
      return;
    }
    if (o_.mode == "keepalive") {
      c.state = Conn::State::Writing;
      return;
    }
    if (o_.mode == "idle") {
      c.state = Conn::State::Idle;
      ++ready_;
      return;
    }
    // handshake / resume / probe: one request per connection
    if (c.ssl) SSL_shutdown(c.ssl);
    close_conn(c);
    if (o_.mode == "probe") return;
    ++connections_done_;
    if (t < until_) restart(c);
  }

  void restart(Conn& c) {
    SSL_SESSION* s = (o_.mode == "resume") ? c.session : nullptr;
    if (!open(c, s)) ++stats_.errors;
  }

  // ---- modes ----------------------------------------------------------------------------------

  int run_timed() {
    const int n = o_.mode == "probe" ? 1 : o_.connections;
    conns_.resize(static_cast<std::size_t>(n));
    const double start = now_s();
    measure_from_ = start + (o_.mode == "probe" ? 0 : o_.warmup);
    until_ = measure_from_ + (o_.mode == "probe" ? 5.0 : o_.duration);
    if (o_.mode == "resume") prime_sessions();
    if (failed_) return 1;
    for (int i = 0; i < n; ++i) {
      conns_[static_cast<std::size_t>(i)].slot = i;
      restart_or_open(conns_[static_cast<std::size_t>(i)]);
    }
    // Counters restart at the window's opening so that only its work counts.
    bool window_open = o_.mode == "probe";
    std::uint64_t hs_at_open = 0, reused_at_open = 0, done_at_open = 0, errors_at_open = 0;
    CpuTimes cpu_at_open;
    double own_at_open = 0;
    std::vector<epoll_event> events(1024);
    for (;;) {
      const double t = now_s();
      if (!window_open && t >= measure_from_) {
        window_open = true;
        hs_at_open = stats_.handshakes;
        reused_at_open = stats_.reused;
        done_at_open = connections_done_;
        errors_at_open = stats_.errors;
        cpu_at_open = cpu_times(o_.cpu_pids);
        own_at_open = own_cpu_s();
      }
      if (t >= until_ || (o_.mode == "probe" && open_ == 0)) break;
      if (stats_.errors > 2000 && stats_.responses == 0) {
        std::fprintf(stderr, "loadgen: only errors, giving up\n");
        break;
      }
      const int wait_ms = std::max(1, static_cast<int>((std::min(until_, t + 0.05) - t) * 1000));
      const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
      for (int i = 0; i < k; ++i) {
        auto& c = *static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
        step(c, events[static_cast<std::size_t>(i)].events);
        // A failed connection is replaced, so the offered load stays at C connections.
        if (c.state == Conn::State::Closed && o_.mode != "probe" && now_s() < until_) {
          restart_or_open(c);
        }
      }
    }
    const CpuTimes server_cpu = window_open ? cpu_times(o_.cpu_pids) - cpu_at_open : CpuTimes{};
    // The generator's own CPU in the window: whether it, rather than the server, set the pace.
    const double client_cpu = window_open ? own_cpu_s() - own_at_open : 0;
    const double seconds = o_.mode == "probe" ? now_s() - start : o_.duration;
    std::sort(stats_.latency_us.begin(), stats_.latency_us.end());
    auto pct = [&](double q) -> double {
      if (stats_.latency_us.empty()) return 0;
      const auto i =
          static_cast<std::size_t>(q * static_cast<double>(stats_.latency_us.size() - 1));
      return stats_.latency_us[i];
    };
    const auto hs = stats_.handshakes - hs_at_open;
    const auto reused = stats_.reused - reused_at_open;
    const auto done = connections_done_ - done_at_open;
    std::string body;
    for (char ch : stats_.first_body) {
      if (ch == '"' || ch == '\\') body += '\\';
      if (ch == '\n') {
        body += "\\n";
        continue;
      }
      if (static_cast<unsigned char>(ch) < 0x20) continue;
      body += ch;
    }
    std::printf(
        "{\"mode\":\"%s\",\"seconds\":%.3f,\"responses\":%llu,\"rps\":%.1f,\"p50_us\":%.0f,"
        "\"p99_us\":%.0f,\"connections_per_s\":%.1f,\"handshakes\":%llu,\"reused\":%llu,"
        "\"reuse_rate\":%.4f,\"errors\":%llu,\"bad_status\":%llu,\"first_status\":%d,"
        "\"server_closes\":%llu,\"server_cpu_s\":%.3f,\"server_user_s\":%.3f,"
        "\"server_sys_s\":%.3f,\"client_cpu_s\":%.3f,\"first_body\":\"%s\"}\n",
        o_.mode.c_str(), seconds, static_cast<unsigned long long>(stats_.responses),
        static_cast<double>(stats_.responses) / seconds, pct(0.50), pct(0.99),
        static_cast<double>(done) / seconds, static_cast<unsigned long long>(hs),
        static_cast<unsigned long long>(reused),
        hs ? static_cast<double>(reused) / static_cast<double>(hs) : 0.0,
        static_cast<unsigned long long>(stats_.errors - errors_at_open),
        static_cast<unsigned long long>(stats_.bad_status), stats_.first_status,
        static_cast<unsigned long long>(server_closes_), server_cpu.total(), server_cpu.user,
        server_cpu.system, client_cpu, body.c_str());
    for (auto& c : conns_) close_conn(c);
    return stats_.responses > 0 ? 0 : 1;
  }

  void restart_or_open(Conn& c) {
    if (!open(c, o_.mode == "resume" ? c.session : nullptr)) ++stats_.errors;
  }

  /// Resume mode: one full handshake per connection slot, to receive the tickets to resume with.
  void prime_sessions() {
    const std::string mode = o_.mode;
    o_.mode = "probe";  // one request per connection, no restart
    for (std::size_t i = 0; i < conns_.size(); ++i) open(conns_[i], nullptr);
    std::vector<epoll_event> events(1024);
    const double deadline = now_s() + 10;
    while (open_ > 0 && now_s() < deadline) {
      const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < k; ++i) {
        step(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
             events[static_cast<std::size_t>(i)].events);
      }
    }
    o_.mode = mode;
    stats_ = Stats{};
    std::size_t with_ticket = 0;
    for (auto& c : conns_) with_ticket += c.session != nullptr;
    if (with_ticket == 0) {
      std::fprintf(stderr, "loadgen: the server sent no session ticket\n");
      failed_ = true;
    }
    // The window starts now that every slot has its ticket.
    const double start = now_s();
    measure_from_ = start + o_.warmup;
    until_ = measure_from_ + o_.duration;
  }

  /// Idle mode: opens --count connections (handshake + one request each), prints a "ready" line,
  /// then holds them until stdin closes, and reports how many the server closed meanwhile.
  int run_idle() {
    conns_.resize(static_cast<std::size_t>(o_.count));
    const double start = now_s();
    measure_from_ = 0;
    until_ = start + 3600;
    SSL_SESSION* ticket = nullptr;
    if (o_.resume_idle && !o_.plain) {
      // One full handshake first, then every other connection resumes its ticket: opening
      // 10,000 connections with full handshakes would dominate the run time.
      Conn& first = conns_[0];
      open(first, nullptr);
      wait_for(1, start + 10);
      ticket = first.session;
      if (ticket == nullptr) {
        std::fprintf(stderr, "loadgen: no session ticket for --resume-idle\n");
        return 1;
      }
    }
    // Open in waves of 200 so the listen backlog never overflows.
    std::size_t next = ticket ? 1 : 0;
    const double deadline = start + 120;
    std::vector<epoll_event> events(1024);
    while (now_s() < deadline) {
      while (next < conns_.size() && open_ - ready_ < 200) {
        if (!open(conns_[next], ticket)) {
          failed_ = true;
          break;
        }
        ++next;
      }
      if (failed_ || (next == conns_.size() &&
                      static_cast<std::size_t>(ready_) + stats_.errors + closed_while_idle_ >=
                          conns_.size())) {
        break;
      }
      const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < k; ++i) {
        step(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
             events[static_cast<std::size_t>(i)].events);
      }
    }
    std::printf(
        "{\"mode\":\"idle\",\"ready\":%d,\"errors\":%llu,\"reused\":%llu,\"seconds\":%.2f}\n",
        ready_, static_cast<unsigned long long>(stats_.errors),
        static_cast<unsigned long long>(stats_.reused), now_s() - start);
    std::fflush(stdout);
    // Hold: keep servicing the sockets until stdin closes (the driver reads RSS meanwhile).
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(ep_, EPOLL_CTL_ADD, 0, &ev);
    bool done = false;
    while (!done) {
      const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
      for (int i = 0; i < k; ++i) {
        if (events[static_cast<std::size_t>(i)].data.ptr == nullptr) {
          char b[64];
          if (read(0, b, sizeof b) <= 0) done = true;
          continue;
        }
        step(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
             events[static_cast<std::size_t>(i)].events);
      }
    }
    std::printf("{\"mode\":\"idle-end\",\"closed_by_server\":%llu}\n",
                static_cast<unsigned long long>(closed_while_idle_));
    for (auto& c : conns_) close_conn(c);
    return 0;
  }

  void wait_for(int ready, double deadline) {
    std::vector<epoll_event> events(64);
    while (ready_ < ready && open_ > 0 && now_s() < deadline) {
      const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < k; ++i) {
        step(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
             events[static_cast<std::size_t>(i)].events);
      }
    }
  }

  Options o_;
  sockaddr_in addr_{};
  std::string request_;
  int ep_ = -1;
  SSL_CTX* ctx_ = nullptr;
  std::vector<Conn> conns_;
  Stats stats_;
  int open_ = 0;
  int ready_ = 0;
  std::uint64_t closed_while_idle_ = 0;
  std::uint64_t connections_done_ = 0;
  std::uint64_t warm_connections_ = 0;
  std::uint64_t server_closes_ = 0;  ///< keep-alive connections the server ended cleanly
  double measure_from_ = 0;
  double until_ = 0;
  bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Options options = parse(argc, argv);
  return LoadGen(options).run();
}

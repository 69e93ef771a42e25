// The keep-alive floor: the least a single-threaded HTTP/1.1 keep-alive proxy can do per request
// on this machine. Plain TCP on both sides (no TLS), one upstream connection per client
// connection, epoll edge-triggered, no timers, no parser beyond finding the end of a message. It
// handles messages framed by Content-Length only (the bench's GETs and the upstream's answers): a
// chunked message closes the connection, and HEAD is not handled. It adds one request header
// (X-Client-Subject, as the proxies under test do) and, like the gateway, sends the upstream
// requests of one event-loop turn at its end. What it costs per request is what any proxy pays
// (the kernel: loopback TCP, wake-ups, the syscalls) plus almost nothing. bench/run.py measures
// it with the load generator in --plain mode.
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/sockets.h"

namespace {

constexpr std::string_view kSubject = "X-Client-Subject: CN=bench-client,O=Bench\r\n";
constexpr std::size_t kMaxMessage = 65536;  ///< a bigger head or body closes the connection

/// A client connection and its upstream connection. The epoll data is the pair's address, its
/// lowest bit set for the upstream side.
struct Pair {
  int client = -1;
  int upstream = -1;
  std::string from_client;    ///< unparsed request bytes
  std::string from_upstream;  ///< unparsed response bytes
  std::string to_upstream;    ///< requests to send at the end of the turn
};

/// The length of the complete message at the start of `in` (head + Content-Length body), 0 while
/// incomplete, npos when it cannot be handled (too big, or framed other than by Content-Length).
std::size_t message_length(std::string_view in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return in.size() > kMaxMessage ? std::string_view::npos : 0;
  const std::string_view head = in.substr(0, end + 2);
  std::size_t body = 0;
  for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;
       pos = head.find("\r\n", pos + 2)) {
    const std::string_view line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto is = [&](std::string_view name) {
      return colon == name.size() && strncasecmp(line.data(), name.data(), colon) == 0;
    };
    if (is("transfer-encoding")) return std::string_view::npos;
    if (is("content-length")) body = std::strtoull(line.data() + colon + 1, nullptr, 10);
  }
  if (body > kMaxMessage) return std::string_view::npos;
  return in.size() >= end + 4 + body ? end + 4 + body : 0;
}

/// Sends all of `bytes`; a full socket buffer (never with these small messages) waits in poll.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 5000) != 1) return false;
    } else {
      return false;
    }
  }
  return true;
}

/// Appends what `fd` has to `in`. False: closed or failed.
bool drain(int fd, std::string& in) {
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
      // A short read emptied the socket: edge-triggered epoll reports the next arrival.
      if (static_cast<std::size_t>(n) < sizeof buf) return true;
    } else if (n < 0 && errno == EAGAIN) {
      return true;
    } else {
      return false;
    }
  }
}

/// A connected, non-blocking socket to the upstream, or -1.
int dial(int port) {
  const int fd = portcullis::bench::nodelay_socket();
  const sockaddr_in a = portcullis::bench::loopback_address(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return fd;
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (errno == EINPROGRESS && poll(&p, 1, 2000) == 1 &&
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
    return fd;
  }
  close(fd);
  return -1;
}

void watch(int ep, int fd, Pair* pair, bool upstream_side) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = reinterpret_cast<std::uintptr_t>(pair) | (upstream_side ? 1U : 0U);
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/// Moves every complete request to the upstream queue with the subject header added.
bool take_requests(Pair& p) {
  for (;;) {
    const std::size_t len = message_length(p.from_client);
    if (len == std::string_view::npos) return false;
    if (len == 0) return true;
    const std::size_t head_end = p.from_client.find("\r\n\r\n") + 2;
    p.to_upstream.append(p.from_client, 0, head_end);
    p.to_upstream += kSubject;
    p.to_upstream.append(p.from_client, head_end, len - head_end);
    p.from_client.erase(0, len);
  }
}

/// Sends every complete response to the client.
bool relay_responses(Pair& p) {
  std::size_t done = 0;
  for (;;) {
    const std::size_t len = message_length(std::string_view(p.from_upstream).substr(done));
    if (len == std::string_view::npos) return false;
    if (len == 0) break;
    done += len;
  }
  if (done == 0) return true;
  const bool ok = send_all(p.client, std::string_view(p.from_upstream).substr(0, done));
  p.from_upstream.erase(0, done);
  return ok;
}

/// Closes both sockets at once; the pair is freed after the turn, as later events of the same
/// turn may still name it.
void retire(Pair* pair, std::vector<Pair*>& dead) {
  close(pair->client);
  close(pair->upstream);
  pair->client = pair->upstream = -1;
  dead.push_back(pair);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: floor_proxy PORT UPSTREAM_PORT   (both on 127.0.0.1)\n");
    return 2;
  }
  const int upstream_port = std::atoi(argv[2]);
  const auto [lfd, ep] = portcullis::bench::start_loopback_server(std::atoi(argv[1]));
  if (lfd < 0) {
    std::perror("floor_proxy: bind/listen");
    return 1;
  }
  epoll_event events[256];
  std::vector<Pair*> flush;  // pairs with requests for the upstream, sent at the end of the turn
  std::vector<Pair*> dead;
  bool upstream_failed = false;
  for (;;) {
    const int k = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < k; ++i) {
      const std::uint64_t data = events[i].data.u64;
      if (data == 0) {
        // Accepted sockets inherit TCP_NODELAY from the listener.
        for (int fd; (fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          const int up = dial(upstream_port);
          if (up < 0) {
            // Said once: a load generator reconnecting in a loop would fill the log.
            if (!upstream_failed) {
              std::fprintf(stderr, "floor_proxy: upstream 127.0.0.1:%d unreachable\n",
                           upstream_port);
            }
            upstream_failed = true;
            close(fd);
            continue;
          }
          auto* pair = new Pair{fd, up, {}, {}, {}};
          watch(ep, fd, pair, false);
          watch(ep, up, pair, true);
        }
        continue;
      }
      auto* pair = reinterpret_cast<Pair*>(data & ~std::uint64_t{1});
      if (pair->client < 0) continue;  // closed earlier in this turn
      const bool upstream_side = (data & 1) != 0;
      bool ok;
      if (upstream_side) {
        ok = drain(pair->upstream, pair->from_upstream) && relay_responses(*pair);
      } else {
        const bool had = !pair->to_upstream.empty();
        ok = drain(pair->client, pair->from_client) && take_requests(*pair);
        if (ok && !had && !pair->to_upstream.empty()) flush.push_back(pair);
      }
      if (!ok) retire(pair, dead);
    }
    for (Pair* pair : flush) {
      if (pair->client < 0) continue;
      if (send_all(pair->upstream, pair->to_upstream)) {
        pair->to_upstream.clear();
      } else {
        retire(pair, dead);
      }
    }
    flush.clear();
    for (Pair* pair : dead) delete pair;
    dead.clear();
  }
}

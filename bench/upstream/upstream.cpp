// The benchmark upstream: a minimal HTTP/1.1 keep-alive server (one thread, epoll) answering
// every request with a small fixed response, so it is never the bottleneck. GET /probe answers
// with the X-Client-Subject header it received, to check that a proxy forwards the identity.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/sockets.h"

namespace {

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

/// One client connection's unparsed input and unsent output.
struct Conn {
  int fd;
  std::string in;
  std::string out;
  bool watching_out = false;  ///< EPOLLOUT registered (only while output is pending)
};

std::string header_value(std::string_view head, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (head.size() - pos < name.size() + 1) break;
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(head[pos + i])) == name[i];
    }
    if (match && head[pos + name.size()] == ':') {
      auto start = pos + name.size() + 1;
      while (start < head.size() && head[start] == ' ') ++start;
      const auto end = head.find("\r\n", start);
      return std::string(head.substr(start, end == std::string_view::npos ? end : end - start));
    }
  }
  return {};
}

/// Consumes every complete request in c.in and queues its response. False: bad request.
bool serve(Conn& c) {
  for (;;) {
    const auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return c.in.size() < 65536;
    std::string_view head(c.in.data(), end + 2);
    std::size_t body = 0;
    const auto cl = header_value(head, "content-length");
    if (!cl.empty()) body = std::strtoull(cl.c_str(), nullptr, 10);
    if (c.in.size() < end + 4 + body) return true;
    if (head.starts_with("GET /probe")) {
      const std::string text = "subject=" + header_value(head, "x-client-subject") + "\n";
      c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
               std::to_string(text.size()) + "\r\n\r\n" + text;
    } else {
      c.out += kResponse;
    }
    c.in.erase(0, end + 4 + body);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: upstream PORT   (listens on 127.0.0.1:PORT)\n");
    return 2;
  }
  const auto [lfd, ep] = portcullis::bench::start_loopback_server(std::atoi(argv[1]));
  if (lfd < 0) {
    std::perror("upstream: bind/listen");
    return 1;
  }
  epoll_event events[256];
  char buf[65536];
  for (;;) {
    const int k = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < k; ++i) {
      if (events[i].data.ptr == nullptr) {
        for (;;) {
          const int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);  // TCP_NODELAY inherited
          if (fd < 0) break;
          auto* c = new Conn{fd, {}, {}, false};
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      bool dead = false;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          const ssize_t n = recv(c->fd, buf, sizeof buf, 0);
          if (n > 0) {
            c->in.append(buf, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buf) break;
            continue;
          }
          if (n < 0 && errno == EAGAIN) break;
          dead = true;
          break;
        }
        if (!dead && !serve(*c)) dead = true;
      }
      if (!dead && !c->out.empty()) {
        const ssize_t n = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
          dead = true;
        } else if (n > 0) {
          c->out.erase(0, static_cast<std::size_t>(n));
        }
        if (!dead && c->out.empty() == c->watching_out) {
          c->watching_out = !c->out.empty();
          epoll_event cev{};
          cev.events = c->watching_out ? EPOLLIN | EPOLLOUT : EPOLLIN;
          cev.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
      }
      if (dead) {
        close(c->fd);
        delete c;
      }
    }
  }
}

// Socket set-up shared by the benchmark's programs (the load generator, the upstream and the
// floor proxy): they speak TCP on 127.0.0.1 only and may hold thousands of connections.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>

namespace portcullis::bench {

/// Raises the soft RLIMIT_NOFILE to the hard limit: 10,000 idle connections need it.
inline void raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

inline sockaddr_in loopback_address(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A non-blocking TCP socket with TCP_NODELAY (inherited by accepted sockets on Linux).
inline int nodelay_socket() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/// A non-blocking socket listening on 127.0.0.1:port, or -1 (errno set).
inline int listen_loopback(int port) {
  const int fd = nodelay_socket();
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in a = loopback_address(port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/// What a single-threaded loopback server starts with: its listener and an epoll instance that
/// watches it (level-triggered, event data 0).
struct LoopbackServer {
  int listener = -1;
  int epoll = -1;
};

/// Ignores SIGPIPE, raises the fd limit, listens on 127.0.0.1:port and watches the listener.
/// listener < 0 when the port cannot be had (errno set).
inline LoopbackServer start_loopback_server(int port) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  LoopbackServer server;
  server.listener = listen_loopback(port);
  if (server.listener < 0) return server;
  server.epoll = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  epoll_ctl(server.epoll, EPOLL_CTL_ADD, server.listener, &ev);
  return server;
}

}  // namespace portcullis::bench

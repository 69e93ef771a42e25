// Probe steps "resolve" (every address; /etc/hosts or DNS) and "connect" (each address with its
// timing: refused, timed out, unreachable).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/ip_network.h"
#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

std::string address_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof buf);
  }
  return buf;
}

/// The /etc/hosts line naming `host`, if any.
std::string hosts_file_entry(const std::string& host) {
  std::ifstream in("/etc/hosts");
  std::string line;
  while (std::getline(in, line)) {
    const std::string content = line.substr(0, line.find('#'));
    std::istringstream words(content);
    std::string address, name;
    words >> address;
    while (words >> name) {
      if (strcasecmp(name.c_str(), host.c_str()) == 0) return content;
    }
  }
  return "";
}

std::string connect_error(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "refused (nothing listens on that port, or a firewall rejects it)";
    case ETIMEDOUT:
      return "timed out (packets dropped: a firewall, a wrong address, or a proxy is required)";
    case ENETUNREACH:
    case EHOSTUNREACH:
      return "unreachable (no route to that network from here)";
    default:
      return std::strerror(err);
  }
}

}  // namespace

std::vector<sockaddr_storage> step_resolve(const std::string& host, uint16_t port,
                                           ProbeStep& step) {
  step.name = "resolve";
  std::vector<sockaddr_storage> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const auto started = std::chrono::steady_clock::now();
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  const bool ip_literal = core::IpAddress::parse(host).has_value();
  const std::string hosts_line = ip_literal ? std::string() : hosts_file_entry(host);
  step.data["etc_hosts"] =
      hosts_line.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(hosts_line);
  step.data["ms"] = ms;
  if (rc != 0) {
    step.data["error"] = gai_strerror(rc);
    step.problem("resolve.failed",
                 "'" + host + "' does not resolve: " + gai_strerror(rc) +
                     (hosts_line.empty() ? " (not in /etc/hosts either)" : ""),
                 "check the spelling and the DNS servers (resolvectl / /etc/resolv.conf); use the "
                 "fully qualified name; inside a corporate network the name may only resolve "
                 "through the proxy (set --proxy)",
                 true);
    step.summary = "no address for " + host;
    return out;
  }
  nlohmann::ordered_json addresses = nlohmann::ordered_json::array();
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    const std::string text = address_text(ss);
    bool seen = false;
    for (const auto& a : addresses) seen = seen || a == text;
    if (seen) continue;
    addresses.push_back(text);
    out.push_back(ss);
  }
  ::freeaddrinfo(res);
  step.data["addresses"] = addresses;
  std::string list;
  for (const auto& a : addresses) list += (list.empty() ? "" : ", ") + a.get<std::string>();
  step.summary = host + " -> " + list + " (" + std::to_string(ms) + " ms)";
  if (ip_literal) {
    step.facts.push_back("an IP address: nothing to resolve");
  } else {
    step.facts.push_back(hosts_line.empty() ? "from DNS (not in /etc/hosts)"
                                            : "from /etc/hosts: " + hosts_line);
  }
  return out;
}

int step_connect(const std::vector<sockaddr_storage>& addresses, std::chrono::milliseconds timeout,
                 ProbeStep& step) {
  step.name = "connect";
  nlohmann::ordered_json attempts = nlohmann::ordered_json::array();
  std::string last_error;
  for (const auto& ss : addresses) {
    const std::string addr = address_text(ss);
    const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    const socklen_t len = ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    const uint16_t port =
        ntohs(ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(ss).sin_port
                                      : reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
    const auto started = std::chrono::steady_clock::now();
    int err = 0;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        socklen_t errlen = sizeof err;
        if (ready <= 0) {
          err = ETIMEDOUT;
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) {
          err = errno;
        }
      }
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    const std::string where =
        (ss.ss_family == AF_INET6 ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
    if (err == 0) {
      attempts.push_back({{"address", where}, {"ok", true}, {"ms", ms}});
      step.data["attempts"] = attempts;
      step.summary = "connected to " + where + " in " + std::to_string(ms) + " ms";
      return fd;
    }
    ::close(fd);
    last_error = connect_error(err);
    attempts.push_back({{"address", where}, {"ok", false}, {"ms", ms}, {"error", last_error}});
    step.facts.push_back(where + ": " + last_error + " after " + std::to_string(ms) + " ms");
  }
  step.data["attempts"] = attempts;
  step.summary = "no address accepted the connection";
  step.problem("connect.failed", "TCP connect failed: " + last_error,
               last_error.starts_with("refused")
                   ? "start the server or fix the port; check it listens on this address (ss -ltn)"
                   : "check firewalls and routes between here and the server; if this network "
                     "requires a proxy, use --proxy or HTTPS_PROXY",
               true);
  return -1;
}

}  // namespace portcullis::diag

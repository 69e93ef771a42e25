// The steps of `portcullis probe`, each in its own file, and the connection they share. Internal
// to src/diag (probe.cpp strings them together).
#pragma once

#include <openssl/ssl.h>

#include <sys/socket.h>
#include <optional>
#include <string>
#include <vector>

#include "core/proxy_select.h"
#include "diag/probe.h"

namespace portcullis::diag {

/// The parsed target of the probe.
struct Target {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< without brackets
  uint16_t port = 0;
  std::string path;  ///< path and query, at least "/"
  bool https() const { return scheme == "https"; }
  /// "host:port" with brackets around IPv6 hosts.
  std::string authority() const;
};

/// A connected socket, optionally with TLS on top; closes both.
struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();
  /// Writes everything or fails ("" on success, else why).
  std::string write_all(std::string_view data, std::chrono::milliseconds timeout);
  /// Reads until the end of the HTTP head (and up to `body_limit` bytes after it, or EOF) within
  /// `timeout`. Returns what was read; `error` says why it stopped early.
  std::string read_response(std::chrono::milliseconds timeout, size_t body_limit,
                            std::string& error);
};

/// What the TLS layer observed (filled by OpenSSL's message callback during the whole life of
/// the connection, so an alert after the handshake — TLS 1.3 certificate_required — is seen).
struct TlsObserver {
  bool certificate_requested = false;
  std::optional<int> alert_received;  ///< the description of the first fatal alert received
  std::optional<int> alert_sent;
};

/// A parsed HTTP response head.
struct HttpHead {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< what was read of the body
  std::vector<std::string> all(std::string_view name) const;
  std::string get(std::string_view name) const;  ///< first value or ""
};

/// Parses "HTTP/1.x NNN reason" + headers + what follows; nullopt when not HTTP.
std::optional<HttpHead> parse_http_head(const std::string& raw);

/// The schemes of WWW-Authenticate / Proxy-Authenticate values ("Basic", "Negotiate", ...).
std::vector<std::string> auth_schemes(const std::vector<std::string>& challenges);

/// "Basic " + base64(user:password).
std::string basic_credentials(const std::string& user, const std::string& password);

std::optional<Target> step_url(const ProbeOptions& options, ProbeStep& step);
std::optional<core::ProxyChoice> step_proxy(const ProbeOptions& options, const Target& target,
                                            ProbeStep& step);
/// Resolves `host` (every address) and says whether /etc/hosts names it.
std::vector<sockaddr_storage> step_resolve(const std::string& host, uint16_t port, ProbeStep& step);
/// Connects to the first address that accepts; every attempt is a fact with its timing.
int step_connect(const std::vector<sockaddr_storage>& addresses, std::chrono::milliseconds timeout,
                 ProbeStep& step);
/// CONNECT through the proxy on `fd`; false when the proxy refused (407 and its schemes).
bool step_tunnel(Connection& conn, const Target& target, const core::ProxyUrl& proxy,
                 std::chrono::milliseconds timeout, ProbeStep& step);
/// A proxy's refusal (407, or tinyproxy's 401, with the schemes it offers; any other status: a
/// refused tunnel) as the step's failing problem.
void proxy_refusal(const HttpHead& head, const core::ProxyUrl& proxy, ProbeStep& step);
/// The TLS handshake and everything learnt from it. false = failed.
bool step_tls(Connection& conn, const Target& target, const ProbeOptions& options,
              TlsObserver& observer, ProbeStep& step);
/// Sends the request and analyses the response; returns the status (0 = none). With
/// `forward_proxy` (plain http through a proxy, as the gateway sends it) the request goes in
/// absolute form with the proxy's credentials, and a 407 is reported as the proxy's refusal.
int step_http(Connection& conn, const Target& target, const ProbeOptions& options,
              const TlsObserver* observer, ProbeStep& step,
              const core::ProxyUrl* forward_proxy = nullptr);

/// What a TLS alert means for the client that received it.
std::string alert_meaning(int description);
/// Adds the problem of a fatal alert received from the server.
void alert_problem(int description, ProbeStep& step);

}  // namespace portcullis::diag

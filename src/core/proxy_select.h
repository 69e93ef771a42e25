// Outbound proxy selection: parsing proxy URLs, reading the proxy environment the way curl does,
// and deciding (with a human reason) whether a target goes through a proxy. Pure; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portcullis::core {

/// An HTTP proxy to CONNECT through.
struct ProxyUrl {
  std::string host;  ///< without brackets for IPv6
  uint16_t port = 3128;
  std::string user;      ///< percent-decoded; empty = no credentials
  std::string password;  ///< percent-decoded
  /// "http://user@host:port" (user omitted when empty); never shows the password.
  std::string display() const;
};

/// Parses "http://[user[:password]@]host[:port][/]" or a bare "host[:port]" (taken as http, like
/// curl). The default port is 1080, curl's. https:// and socks proxies are refused with a clear
/// error; user and password are percent-decoded.
Result<ProxyUrl> parse_proxy_url(std::string_view text);

/// The proxy variables of the environment.
struct ProxyEnv {
  std::string https_proxy;  ///< https_proxy, else HTTPS_PROXY
  std::string http_proxy;   ///< http_proxy only: HTTP_PROXY is ignored like curl (httpoxy)
  std::string no_proxy;     ///< no_proxy, else NO_PROXY
  /// Reads the variables; the lower-case name wins over the upper-case one, like curl.
  static ProxyEnv from_environment();
};

enum class ProxyMode { None, Env, Explicit };

/// What the configuration (or the command line) asks for.
struct ProxySetting {
  ProxyMode mode = ProxyMode::None;
  ProxyUrl url;  ///< used when mode == Explicit
};

/// The decision for one target: the proxy to use (none = direct) and why, in words for operators,
/// e.g. "HTTPS_PROXY from the environment: http://proxy:3128" or
/// "NO_PROXY entry '.corp' matches intranet.corp: direct connection".
struct ProxyChoice {
  std::optional<ProxyUrl> proxy;
  std::string reason;
};

/// Decides the proxy for `target_scheme` ("http" or "https") and `host`. Explicit settings are
/// used as given; Env reads https_proxy / http_proxy and honours no_proxy.
ProxyChoice choose_proxy(const ProxySetting& setting, std::string_view target_scheme,
                         std::string_view host, const ProxyEnv& env);

/// The no_proxy entry that matches `host`, if any, with curl's rules: '*' matches everything;
/// "corp.com" and ".corp.com" match the domain and its subdomains; IP addresses match exactly and
/// CIDR networks (IPv4 and IPv6) by containment; ports in entries are ignored; comparison is
/// case-insensitive; entries are separated by commas and trimmed of whitespace.
std::optional<std::string> no_proxy_match(std::string_view no_proxy, std::string_view host);

}  // namespace portcullis::core

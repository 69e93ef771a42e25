// Proxy URL parsing, the curl-compatible proxy environment and NO_PROXY matching.
#include "core/proxy_select.h"

#include <charconv>
#include <cstdlib>

#include "core/ascii.h"
#include "core/ip_network.h"

namespace portcullis::core {
namespace {

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return fail("truncated %-escape in the proxy credentials");
    const int hi = hex_digit_value(s[i + 1]);
    const int lo = hex_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0) return fail("invalid %-escape in the proxy credentials");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

/// "host", "host:port", "[v6]" or "[v6]:port" with the port dropped and brackets removed.
std::string_view strip_port(std::string_view entry) {
  if (!entry.empty() && entry.front() == '[') {
    const auto close = entry.find(']');
    return close == std::string_view::npos ? entry.substr(1) : entry.substr(1, close - 1);
  }
  const auto first = entry.find(':');
  if (first != std::string_view::npos && entry.find(':', first + 1) == std::string_view::npos)
    return entry.substr(0, first);  // one colon: host:port; several: a bare IPv6 address
  return entry;
}

bool entry_matches(std::string_view entry, const std::string& host) {
  if (entry == "*") return true;
  const auto host_ip = IpAddress::parse(host);
  if (entry.find('/') != std::string_view::npos) {
    const auto net = IpNetwork::parse(entry);
    return net && host_ip && net->contains(*host_ip);
  }
  const std::string_view bare = strip_port(entry);
  if (const auto ip = IpAddress::parse(bare)) return host_ip && host_ip->bytes == ip->bytes;
  std::string domain = ascii_lower(bare);
  while (!domain.empty() && domain.front() == '.') domain.erase(0, 1);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (domain.empty()) return false;
  if (host == domain) return true;
  return host.size() > domain.size() && host.ends_with(domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

}  // namespace

std::string ProxyUrl::display() const {
  std::string out = "http://";
  if (!user.empty()) out += user + "@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  return out;
}

Result<ProxyUrl> parse_proxy_url(std::string_view text) {
  std::string_view rest = trim_ascii_space(text);
  if (rest.empty()) return fail("empty proxy URL");
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string scheme = ascii_lower(rest.substr(0, scheme_end));
    if (scheme == "https")
      return fail(
          "https:// proxies (TLS to the proxy) are not supported; use http:// — the "
          "tunnel to the target is still TLS end to end");
    if (scheme != "http")
      return fail("unsupported proxy scheme '" + scheme +
                  "://'; only http:// proxies are supported");
    rest.remove_prefix(scheme_end + 3);
  }
  if (const auto slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    if (trim_ascii_space(rest.substr(slash)) != "/")
      return fail("a proxy URL has no path: '" + std::string(text) + "'");
    rest = rest.substr(0, slash);
  }
  ProxyUrl url;
  url.port = 1080;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return std::unexpected(user.error());
    url.user = *user;
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) return std::unexpected(password.error());
      url.password = *password;
    }
    rest.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated '[' in the proxy host");
    url.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the proxy host");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = rest.find(':');
    url.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (url.host.empty()) return fail("the proxy URL has no host: '" + std::string(text) + "'");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return fail("invalid proxy port '" + std::string(port_text) + "'");
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

ProxyEnv ProxyEnv::from_environment() {
  ProxyEnv env;
  env.https_proxy = env_value("https_proxy");
  if (env.https_proxy.empty()) env.https_proxy = env_value("HTTPS_PROXY");
  env.http_proxy = env_value("http_proxy");
  env.no_proxy = env_value("no_proxy");
  if (env.no_proxy.empty()) env.no_proxy = env_value("NO_PROXY");
  return env;
}

std::optional<std::string> no_proxy_match(std::string_view no_proxy, std::string_view host) {
  std::string h = ascii_lower(trim_ascii_space(host));
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return std::nullopt;
  while (!no_proxy.empty()) {
    const auto sep = no_proxy.find_first_of(", ");
    const std::string_view entry = trim_ascii_space(no_proxy.substr(0, sep));
    if (!entry.empty() && entry_matches(entry, h)) return std::string(entry);
    if (sep == std::string_view::npos) break;
    no_proxy.remove_prefix(sep + 1);
  }
  return std::nullopt;
}

ProxyChoice choose_proxy(const ProxySetting& setting, std::string_view target_scheme,
                         std::string_view host, const ProxyEnv& env) {
  switch (setting.mode) {
    case ProxyMode::None:
      return {std::nullopt, "proxy: none"};
    case ProxyMode::Explicit:
      return {setting.url, "proxy set explicitly: " + setting.url.display()};
    case ProxyMode::Env:
      break;
  }
  const bool https = ascii_lower(target_scheme) == "https";
  const std::string name = https ? "HTTPS_PROXY" : "http_proxy";
  const std::string& value = https ? env.https_proxy : env.http_proxy;
  if (trim_ascii_space(value).empty())
    return {std::nullopt, "no " + name + " in the environment: direct connection"};
  if (const auto entry = no_proxy_match(env.no_proxy, host))
    return {std::nullopt,
            "NO_PROXY entry '" + *entry + "' matches " + std::string(host) + ": direct connection"};
  auto url = parse_proxy_url(value);
  if (!url)
    return {std::nullopt, name + " from the environment is invalid (" + url.error().message +
                              "): direct connection"};
  return {*url, name + " from the environment: " + url->display()};
}

}  // namespace portcullis::core

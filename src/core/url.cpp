// Absolute URL parsing for outgoing calls.
#include "core/url.h"
#include "core/ascii.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portcullis::core {
namespace {

std::uint16_t default_port(std::string_view scheme) {
  return scheme == "https" ? 443 : 80;
}

}  // namespace

std::string Url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = scheme + "://" + (v6 ? "[" + host + "]" : host);
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out + target;
}

Result<Url> parse_url(std::string_view text) {
  if (std::any_of(text.begin(), text.end(),
                  [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return fail("the URL contains whitespace or control characters");
  }
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("not an absolute URL (expected http(s)://host)");
  Url url;
  url.scheme = ascii_lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return fail("unsupported scheme \"" + url.scheme + "\" (expected http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.target = std::string(rest.substr(slash));
    if (url.target.front() == '?') url.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return fail("user information in the URL is not allowed (it would be logged)");
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal in the URL");
    url.host = ascii_lower(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = ascii_lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return fail("the URL has no host");
  url.port = default_port(url.scheme);
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.begin(), port_text.end(), value);
    if (ec != std::errc{} || end != port_text.end() || value == 0 || value > 65535) {
      return fail("bad port \"" + std::string(port_text) + "\" in the URL");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace portcullis::core

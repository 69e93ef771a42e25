// Parsing and printing of host:port endpoints.
#include "config/endpoint.h"

#include <cctype>

#include "config/quote.h"
#include "core/ip_network.h"

namespace portcullis::config {
namespace {

std::string expected_forms(EndpointKind kind) {
  return kind == EndpointKind::Listen
             ? "expected \"IP:port\" or \"[IPv6]:port\", e.g. 0.0.0.0:8443 or [::]:8443"
             : "expected \"host:port\" or \"[IPv6]:port\", e.g. app.internal:9000";
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string Endpoint::to_string() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

bool is_dns_name(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > 253) return false;
  std::string_view last_label;
  while (true) {
    const auto dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return !all_digits(last_label);
}

core::Result<Endpoint> parse_endpoint(std::string_view text, EndpointKind kind) {
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return core::fail(expected_forms(kind) + ", got " + quote(text));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return core::fail(expected_forms(kind) + ", got " + quote(text));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return core::fail("IPv6 addresses need brackets, e.g. [" + std::string(host) +
                        "]:" + std::string(port_text) + ", got " + quote(text));
    }
  }
  if (host.empty()) return core::fail(expected_forms(kind) + ", got " + quote(text));

  const unsigned min_port = kind == EndpointKind::Listen ? 0 : 1;
  unsigned port = 0;
  if (!all_digits(port_text) || port_text.size() > 5) {
    return core::fail("invalid port " + quote(port_text) + " in " + quote(text) + " (" +
                      expected_forms(kind) + ")");
  }
  for (const char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
  if (port < min_port || port > 65535) {
    return core::fail("port must be between " + std::to_string(min_port) + " and 65535, got " +
                      std::string(port_text));
  }

  const auto ip = core::IpAddress::parse(host);
  if (bracketed && (!ip || host.find(':') == std::string_view::npos)) {
    return core::fail("invalid IPv6 address " + quote(host) + " in " + quote(text));
  }
  if (!ip) {
    if (kind == EndpointKind::Listen) {
      return core::fail("the address must be an IP literal (a bind never depends on DNS), got " +
                        quote(host) + "; " + expected_forms(kind));
    }
    if (!is_dns_name(host)) {
      return core::fail("invalid host " + quote(host) + " in " + quote(text) +
                        " (neither an IP address nor a DNS name)");
    }
  }
  Endpoint endpoint;
  endpoint.host = std::string(host);
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

}  // namespace portcullis::config

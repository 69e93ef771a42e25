// Host header validation and normalisation (see host_header.h).
#include "route/host_header.h"

#include <arpa/inet.h>

#include "core/ascii.h"

namespace portcullis::route {
namespace {

constexpr std::size_t kMaxHostLength = 255;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::unexpected<std::string> refuse(std::string_view why) {
  return std::unexpected("Host header " + std::string(why));
}

}  // namespace

std::expected<std::string, std::string> normalize_host(std::string_view value) {
  if (value.empty()) return refuse("is empty");
  if (value.size() > kMaxHostLength + 7) return refuse("is too long");
  std::string out;
  std::string_view rest;
  if (value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos) return refuse("has an unclosed '[' (IPv6 literal)");
    const std::string literal(value.substr(1, close - 1));
    in6_addr addr{};
    if (::inet_pton(AF_INET6, literal.c_str(), &addr) != 1) {
      return refuse("has an invalid IPv6 literal");
    }
    out = "[" + core::ascii_lower(literal) + "]";
    rest = value.substr(close + 1);
  } else {
    const auto colon = value.find(':');
    std::string_view name = value.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : value.substr(colon);
    if (name.empty()) return refuse("has no host name");
    for (const char c : name) {
      if (!is_name_char(c)) {
        return refuse(c == ' ' || c == '\t' ? std::string_view("contains whitespace")
                                            : std::string_view("contains a character that is not "
                                                               "allowed in a host name"));
      }
    }
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);  // the FQDN form
    if (name.size() > kMaxHostLength) return refuse("is too long");
    if (name.front() == '.' || name.find("..") != std::string_view::npos || name.back() == '.') {
      return refuse("has an empty label");
    }
    out = core::ascii_lower(name);
  }
  if (rest.empty()) return out;
  if (rest.front() != ':') return refuse("has text after the IPv6 literal");
  const std::string_view port = rest.substr(1);
  if (port.empty() || port.size() > 5) return refuse("has an invalid port");
  unsigned long number = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') {
      return refuse(c == ':' ? "has more than one ':' (only host[:port] is allowed)"
                             : "has a port that is not a number");
    }
    number = number * 10 + static_cast<unsigned long>(c - '0');
  }
  if (number > 65535) return refuse("has a port above 65535");
  out += ':';
  out += std::to_string(number);
  return out;
}

}  // namespace portcullis::route

// Route matching: host patterns and path prefixes, first match wins.
#include "route/router.h"
#include "core/ascii.h"

#include <algorithm>

namespace portcullis::route {
std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto end = host.find(']');
    return end == std::string_view::npos ? host : host.substr(1, end - 1);
  }
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(':') == colon) return host.substr(0, colon);
  return host;
}

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  host = host_without_port(host);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // FQDN form
  if (pattern.starts_with("*.")) {
    const auto suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() &&
           core::ascii_iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return core::ascii_iequals(pattern, host);
}

bool path_matches(std::string_view prefix, std::string_view path) {
  return path.starts_with(prefix);
}

Router::Router(const std::vector<config::RouteConfig>& routes) {
  entries_.reserve(routes.size());
  for (const auto& r : routes)
    entries_.push_back({core::ascii_lower(r.match.host), r.match.path_prefix});
}

int Router::match(std::string_view host, std::string_view path) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (path_matches(entries_[i].prefix, path) && host_matches(entries_[i].host, host)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace portcullis::route

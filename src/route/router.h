// host/path -> Route: first match wins, in configuration order. Pure and allocation-free on lookup.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace portcullis::route {

/// Whether a Host header value (port ignored, case-insensitive) matches a route host pattern:
/// "*" (any), "*.example.com" (any sub-domain, not the apex), or an exact name.
bool host_matches(std::string_view pattern, std::string_view host);

/// Whether `path` (the request target's path, without query) starts with `prefix`.
bool path_matches(std::string_view prefix, std::string_view path);

/// The routes of one listener, compiled for lookup.
class Router {
 public:
  explicit Router(const std::vector<config::RouteConfig>& routes);

  /// Index of the first matching route, or -1 when none matches.
  int match(std::string_view host, std::string_view path) const;

 private:
  struct Entry {
    std::string host;  ///< lower-cased pattern
    std::string prefix;
  };
  std::vector<Entry> entries_;
};

/// Strips ":port" (and the brackets of an IPv6 literal) from a Host header value.
std::string_view host_without_port(std::string_view host);

}  // namespace portcullis::route

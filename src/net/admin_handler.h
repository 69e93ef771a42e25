// The admin listener's extension point: endpoints that live in their own files (assertion JWKS and
// verification, ...) answer plain request/reply values; admin_server.cpp does the HTTP.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/denial.h"

namespace portcullis::net {

/// One admin request as a handler sees it (views into the parsed request).
struct AdminRequest {
  std::string_view method;  ///< "GET", "POST", ...
  std::string_view target;  ///< path and query, as sent
  std::string_view content_type;
  std::string_view body;
};

/// A handler's answer.
struct AdminReply {
  int status = 200;
  std::string content_type;
  std::vector<core::HeaderPair> headers;
  std::string body;
};

/// Answers the requests it owns (by path), nullopt for the others.
using AdminHandler = std::function<std::optional<AdminReply>(const AdminRequest&)>;

}  // namespace portcullis::net

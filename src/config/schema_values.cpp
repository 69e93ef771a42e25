// Readers for the repeated value kinds of the schema: one place for the rules and the wording
// of names, files, durations, sizes, addresses and header names.
#include "config/schema_values.h"

#include <array>
#include <cctype>

#include "config/files.h"
#include "config/quote.h"
#include "config/units.h"

namespace portcullis::config {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// SECURITY: identity headers must never overwrite the fields that frame the request or steer
// the hop, or a user name could become a Content-Length.
constexpr std::array<std::string_view, 10> kReservedHeaders{
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
    "te",   "trailer",        "proxy-connection",  "expect"};

}  // namespace

bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::optional<std::string> name_error(std::string_view name) {
  bool valid =
      !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name.front()));
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      valid = false;
    }
  }
  if (valid) return std::nullopt;
  return "invalid name " + quote(name) +
         " (use 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit)";
}

std::optional<std::string> read_name(const Node& node) {
  auto name = node.non_empty_text();
  if (!name) return std::nullopt;
  if (auto error = name_error(*name)) {
    node.error(std::move(*error));
    return std::nullopt;
  }
  return name;
}

std::optional<FileRef> read_file(const Node& node, const std::string& base_dir) {
  auto path = node.non_empty_text();
  if (!path) return std::nullopt;
  FileRef ref{resolve_path(base_dir, *path), node.origin()};
  if (auto error = check_readable_file(ref.path)) {
    node.error(std::move(*error));
    return std::nullopt;
  }
  return ref;
}

std::optional<Duration> read_duration(const Node& node, Duration min) {
  auto duration = node.parsed("a duration", parse_duration);
  if (duration && *duration < min) {
    node.error("must be at least " + format_duration(min) + ", got " + format_duration(*duration));
    return std::nullopt;
  }
  return duration;
}

std::optional<std::uint64_t> read_size(const Node& node, std::uint64_t min, std::uint64_t max) {
  auto size = node.parsed("a size", parse_size);
  if (size && (*size < min || *size > max)) {
    node.error("must be between " + format_size(min) + " and " + format_size(max) + ", got " +
               format_size(*size));
    return std::nullopt;
  }
  return size;
}

std::optional<Endpoint> read_endpoint(const Node& node, EndpointKind kind) {
  auto endpoint = node.parsed("an address",
                              [kind](std::string_view text) { return parse_endpoint(text, kind); });
  if (endpoint) endpoint->origin = node.origin();
  return endpoint;
}

std::optional<ProxyConfig> read_proxy(const Node& node) {
  ProxyConfig out;
  out.origin = node.origin();
  if (!node.present()) return out;
  auto text = node.non_empty_text();
  if (!text) return std::nullopt;
  if (*text == "none") return out;
  if (*text == "env") {
    out.setting.mode = core::ProxyMode::Env;
    return out;
  }
  auto url = core::parse_proxy_url(*text);
  if (!url) {
    node.error(url.error().message + " (expected none, env or http://[user:password@]host:port)");
    return std::nullopt;
  }
  out.setting.mode = core::ProxyMode::Explicit;
  out.setting.url = std::move(*url);
  return out;
}

std::optional<std::string> read_header_name(const Node& node) {
  auto name = node.non_empty_text();
  if (!name) return std::nullopt;
  if (!is_http_token(*name)) {
    node.error("invalid header name " + quote(*name) +
               " (letters, digits and !#$%&'*+-.^_`|~ only)");
    return std::nullopt;
  }
  for (const auto reserved : kReservedHeaders) {
    if (lower(*name) == reserved) {
      node.error("header " + quote(*name) + " is managed by the proxy and cannot carry identity");
      return std::nullopt;
    }
  }
  return name;
}

}  // namespace portcullis::config

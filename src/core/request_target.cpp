// Request-target normalisation: percent-decoding of unreserved characters, dot segments, merged
// slashes, and the refusals that close path-based bypasses (see request_target.h).
#include "core/request_target.h"

#include <fmt/format.h>

#include <vector>

#include "core/ascii.h"
#include "core/utf8.h"

namespace portcullis::core {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/// pchar other than unreserved and pct-encoded: sub-delims, ':' and '@' (RFC 3986 3.3).
bool is_path_delimiter(unsigned char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
      return true;
    default:
      return false;
  }
}

void append_encoded(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

/// Bytes refused anywhere in a target, with the reason; "" when `c` may appear.
std::string refused_byte(unsigned char c) {
  if (c == '\\') return "a raw backslash";
  if (c == '#') return "a fragment ('#')";
  if (c == ' ') return "a space";
  if (c < 0x20 || c == 0x7F) return fmt::format("the control byte 0x{:02X}", c);
  if (c >= 0x80) return fmt::format("the raw byte 0x{:02X} (percent-encode it)", c);
  return {};
}

/// Normalises one path segment (without '/') into `out` and its fully decoded bytes into
/// `decoded` (for the UTF-8 check). Returns why it is refused, or "".
std::string normalize_segment(std::string_view seg, const TargetPolicy& policy, std::string& out,
                              std::string& decoded) {
  for (std::size_t i = 0; i < seg.size(); ++i) {
    const auto c = static_cast<unsigned char>(seg[i]);
    if (c != '%') {
      decoded += static_cast<char>(c);
      if (is_unreserved(c) || is_path_delimiter(c)) {
        out += static_cast<char>(c);
      } else {
        append_encoded(out, c);  // '"', '<', '>', '[', ']', '^', '`', '{', '|', '}'
      }
      continue;
    }
    const int hi = i + 2 < seg.size() ? hex_digit_value(seg[i + 1]) : -1;
    const int lo = i + 2 < seg.size() ? hex_digit_value(seg[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return fmt::format("a malformed percent-encoding \"{}\"", seg.substr(i, 3));
    }
    const auto v = static_cast<unsigned char>(hi * 16 + lo);
    i += 2;
    // SECURITY: these decode to bytes that split or end a path on some backend (Windows and
    // servlet containers read %5C as a separator, C strings end at %00) while the gateway
    // would route by one segment.
    if (v == 0) return "an encoded NUL (%00)";
    if (v == '\\') return "an encoded backslash (%5C)";
    if (v == '/' && !policy.keep_encoded_slash) {
      return "an encoded slash (%2F; request_normalization.encoded_slash: keep allows it)";
    }
    decoded += static_cast<char>(v);
    if (is_unreserved(v)) {
      out += static_cast<char>(v);
    } else {
      append_encoded(out, v);
    }
  }
  return {};
}

std::string check_utf8(std::string_view decoded) {
  for (std::size_t i = 0; i < decoded.size();) {
    if (static_cast<unsigned char>(decoded[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(decoded, i);
    if (n == 0) return "a path that is not UTF-8 once percent-decoded";
    i += n;
  }
  return {};
}

}  // namespace

std::expected<std::string, std::string> normalize_target(std::string_view target,
                                                         const TargetPolicy& policy) {
  const auto refuse = [](std::string why) { return std::unexpected("request target has " + why); };
  if (target == "*") return std::string(target);
  if (target.empty() || target.front() != '/') {
    return std::unexpected(std::string("request target must be a path starting with '/'"));
  }
  for (const char c : target) {
    if (auto why = refused_byte(static_cast<unsigned char>(c)); !why.empty()) return refuse(why);
  }
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q);

  std::string out;
  out.reserve(target.size());
  std::string decoded;
  std::string segment;
  std::vector<std::size_t> starts;  // where each kept segment begins in `out` (after its '/')
  bool trailing_slash = false;
  std::string_view rest = path.substr(1);
  for (;;) {
    const auto slash = rest.find('/');
    const bool last = slash == std::string_view::npos;
    const std::string_view raw = rest.substr(0, slash);
    segment.clear();
    if (auto why = normalize_segment(raw, policy, segment, decoded); !why.empty()) {
      return refuse(why);
    }
    const std::string_view name = std::string_view(segment).substr(0, segment.find(';'));
    if (segment.empty()) {
      trailing_slash = last;  // "//" merged; a final empty segment keeps the trailing slash
    } else if (name == "." || name == "..") {
      // SECURITY: "..;x" is ".." to Tomcat and Jetty, a plain name to the gateway.
      if (name.size() != segment.size()) {
        return refuse("a dot segment with parameters (\"" + segment + "\")");
      }
      if (name == "..") {
        if (starts.empty()) return refuse("a '..' segment above the root");
        out.resize(starts.back() - 1);
        starts.pop_back();
      }
      trailing_slash = last;
    } else {
      out += '/';
      starts.push_back(out.size());
      out += segment;
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  if (out.empty() || trailing_slash) out += '/';
  if (auto why = check_utf8(decoded); !why.empty()) return refuse(why);
  out += query;
  return out;
}

std::string check_path_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.front() != '/') return "must start with '/'";
  if (prefix.find('?') != std::string_view::npos) return "must not contain a query ('?')";
  const auto normalized = normalize_target(prefix, TargetPolicy{.keep_encoded_slash = true});
  if (!normalized) return "can never match a request: the " + normalized.error();
  if (*normalized != prefix) {
    return "is not in normalised form; request paths are normalised before routing, write it "
           "as \"" +
           *normalized + "\"";
  }
  return {};
}

}  // namespace portcullis::core

// The request target as routing, authn, authz and the upstream see it: one normalisation policy
// applied once, before anything reads the path (docs/configuration.md, "Request normalisation").
// Pure: no I/O, no allocation beyond the result.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace portcullis::core {

/// What a listener's `request_normalization` allows beyond the default policy.
struct TargetPolicy {
  /// `encoded_slash: keep`: %2F stays encoded inside its segment instead of refusing the request.
  bool keep_encoded_slash = false;
};

/// Normalises an origin-form request target (`/path[?query]`, or `*`):
/// - percent-encodings must be well formed; those of unreserved characters (RFC 3986 2.3) are
///   decoded, the others kept with upper-case hex; %00, %5C and (unless kept) %2F are refused;
/// - the decoded path must be UTF-8; raw bytes >= 0x80, control bytes, a raw backslash and `#`
///   are refused anywhere in the target; other characters RFC 3986 does not allow in a path
///   (`"<>^`{|}`) are percent-encoded;
/// - empty segments (`//`) are merged, `.` and `..` segments resolved (RFC 3986 5.2.4), `..`
///   above the root is refused, and a `.` or `..` segment carrying `;` parameters is refused
///   (servlet containers read `..;x` as `..`);
/// - the query is kept as sent.
/// Returns the normalised target, or why it is refused (one line, for the denial's detail).
std::expected<std::string, std::string> normalize_target(std::string_view target,
                                                         const TargetPolicy& policy);

/// Whether `prefix` (a route's path_prefix) is already in normalised form, so that normalised
/// paths can match it; an explanation when not, "" when it is.
std::string check_path_prefix(std::string_view prefix);

}  // namespace portcullis::core

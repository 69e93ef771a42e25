// Control-plane error vocabulary: Result<T> = std::expected<T, Error>.
// Errors carry a human message and, for configuration, the YAML path and line.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace portcullis::core {

/// A control-plane failure. `where` is a location such as a YAML path
/// ("listeners[0].tls.cert") and `line` its 1-based line (0 = unknown).
struct Error {
  std::string message;
  std::string where;
  int line = 0;

  /// "where: line N: message", omitting the parts that are unknown.
  std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;

/// Shorthand for returning a failure: `return fail("no such file");`.
inline std::unexpected<Error> fail(std::string message, std::string where = {}, int line = 0) {
  return std::unexpected<Error>(Error{std::move(message), std::move(where), line});
}

}  // namespace portcullis::core

// Reading line-oriented credential files (htpasswd, groups): BOM, CRLF, blank lines and
// comments are handled once here, so every file format sees only its content lines.
#pragma once

#include <string_view>
#include <vector>

namespace portcullis::authn {

/// Strips spaces, tabs and a trailing CR.
std::string_view trim_line(std::string_view s);

/// True when `s` holds a control character (below 0x20, or DEL).
bool has_control(std::string_view s);

struct ContentLine {
  int number;             ///< 1-based line number in the file
  std::string_view text;  ///< trimmed; never empty, never a comment
};

/// The non-empty, non-comment (`#`) lines of `text`, trimmed, after a UTF-8 BOM. The views point
/// into `text`.
std::vector<ContentLine> content_lines(std::string_view text);

}  // namespace portcullis::authn

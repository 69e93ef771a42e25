// Glob patterns for authorization rules: `*` matches any run of characters, `?` one character;
// everything else is literal and case-sensitive (certificate subjects and SANs as printed).
#pragma once

#include <string_view>

namespace portcullis::authz {

/// Whether `text` matches `pattern` as a whole. Linear time (no backtracking blow-up).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace portcullis::authz

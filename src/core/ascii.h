// Small ASCII text helpers shared by parsers of protocol text (URLs, HTTP heads, environment
// variables): case folding, trimming and hex digits, locale-independent.
#pragma once

#include <string>
#include <string_view>

namespace portcullis::core {

/// `s` with A-Z folded to a-z (other bytes unchanged).
std::string ascii_lower(std::string_view s);

/// Case-insensitive ASCII equality (header names, schemes, tokens); locale-independent.
bool ascii_iequals(std::string_view a, std::string_view b);

/// `s` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_ascii_space(std::string_view s);

/// The value of a hex digit (0-9, a-f, A-F), or -1.
int hex_digit_value(char c);

}  // namespace portcullis::core

// UTF-8 validation shared by the JSON and HTML escapers.
#pragma once

#include <cstddef>
#include <string_view>

namespace portcullis::core {

/// Length (2..4) of the valid multi-byte UTF-8 sequence starting at s[i], or 0 when the bytes
/// there are not one (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// U+FFFD, written in place of invalid bytes.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

}  // namespace portcullis::core

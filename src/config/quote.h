// Quoting of configuration values inside error messages, so a stray newline, quote or a
// 10 KB value cannot garble or flood the one-line error an operator reads.
#pragma once

#include <string>
#include <string_view>

namespace portcullis::config {

/// `text` in double quotes, with quotes, backslashes and control characters escaped and values
/// longer than 80 characters shortened with "...".
std::string quote(std::string_view text);

}  // namespace portcullis::config

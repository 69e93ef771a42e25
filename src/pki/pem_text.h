// Text-level helpers for scanning PEM files line by line, shared by the certificate loader and
// `portcullis check-bundle` / `inspect` (src/diag), so both read a file the same way.
#pragma once

#include <string_view>

namespace portcullis::pki {

/// Strips spaces, tabs, CR and FF at both ends of a line.
std::string_view pem_trim(std::string_view s);

/// A character of the base64 alphabet PEM uses (including the `=` padding).
bool is_base64_char(char c);

/// "X" of "-----BEGIN X-----" (`prefix` is "-----BEGIN " or "-----END "); empty when malformed.
std::string_view pem_boundary_label(std::string_view line, std::string_view prefix);

}  // namespace portcullis::pki

// PEM line scanning helpers.
#include "pki/pem_text.h"

namespace portcullis::pki {

std::string_view pem_trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

std::string_view pem_boundary_label(std::string_view line, std::string_view prefix) {
  constexpr std::string_view kDashes = "-----";
  if (!line.starts_with(prefix) || !line.ends_with(kDashes) ||
      line.size() < prefix.size() + kDashes.size() + 1) {
    return {};
  }
  return line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size());
}

}  // namespace portcullis::pki

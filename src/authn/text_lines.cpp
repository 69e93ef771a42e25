// Content lines of credential files.
#include "authn/text_lines.h"

namespace portcullis::authn {

std::string_view trim_line(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool has_control(std::string_view s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::vector<ContentLine> content_lines(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM
  std::vector<ContentLine> out;
  int number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++number;
    const auto nl = text.find('\n', pos);
    const std::string_view line = trim_line(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty() || line.front() == '#') continue;
    out.push_back({number, line});
  }
  return out;
}

}  // namespace portcullis::authn

// HTML escaping with UTF-8 validation, so the denial page is always well-formed and never carries
// markup that came from a request.
#include "explain/html.h"

#include "core/utf8.h"

namespace portcullis::explain {

void html_escape_to(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
        case '\r':
          out += static_cast<char>(c);
          break;
        default:
          // NUL and the other controls are parse errors in HTML; never pass them through.
          if (c < 0x20 || c == 0x7F) {
            out += core::kUtf8Replacement;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const std::size_t len = core::utf8_sequence_length(text, i);
    if (len == 0) {
      out += core::kUtf8Replacement;
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  html_escape_to(out, text);
  return out;
}

}  // namespace portcullis::explain

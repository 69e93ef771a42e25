// Transfer-Encoding classification (see transfer_coding.h).
#include "proxy/transfer_coding.h"

#include <vector>

#include "core/ascii.h"

namespace portcullis::proxy {
namespace {

using Kind = TransferCodingCheck::Kind;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

TransferCodingCheck malformed(std::string why) {
  return {Kind::Malformed, "Transfer-Encoding " + std::move(why)};
}

}  // namespace

TransferCodingCheck classify_transfer_encoding(const HeaderList& headers, int version) {
  std::vector<std::string> codings;
  bool present = false;
  bool content_length = false;
  for (const auto& [name, value] : headers.fields()) {
    if (core::ascii_iequals(name, "content-length")) content_length = true;
    if (!core::ascii_iequals(name, "transfer-encoding")) continue;
    present = true;
    std::string_view rest(value);
    for (;;) {
      const auto comma = rest.find(',');
      const auto element = core::trim_ascii_space(rest.substr(0, comma));
      if (element.empty()) return malformed("has an empty element");
      for (const char c : element) {
        if (c == ';') return malformed("has parameters (\"" + std::string(element) + "\")");
        if (!is_tchar(c)) {
          return malformed("has a coding that is not a token (\"" + std::string(element) + "\")");
        }
      }
      codings.push_back(core::ascii_lower(element));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!present) return {};
  if (version < 11) return malformed("is not allowed in an HTTP/1.0 message");
  if (content_length) return malformed("and Content-Length are both present");
  std::size_t chunked = 0;
  for (const auto& c : codings) {
    if (c == "chunked") ++chunked;
    if (c == "identity") return malformed("names \"identity\", which is not a transfer coding");
  }
  if (chunked > 1) return malformed("names chunked more than once");
  if (codings.back() != "chunked") {
    return malformed("must end with chunked (got \"" + codings.back() + "\")");
  }
  if (codings.size() > 1) {
    return {Kind::Unsupported,
            "Transfer-Encoding \"" + codings.front() + "\" before chunked is not supported"};
  }
  return {Kind::Chunked, {}};
}

}  // namespace portcullis::proxy

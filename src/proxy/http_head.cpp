// Header list operations and head serialisation.
#include "proxy/http_head.h"
#include "core/ascii.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portcullis::proxy {

void HeaderList::set(std::string_view name, std::string value) {
  remove(name);
  fields_.emplace_back(std::string(name), std::move(value));
}

std::size_t HeaderList::remove(std::string_view name) {
  const auto before = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return core::ascii_iequals(f.first, name); });
  return before - fields_.size();
}

std::optional<std::string_view> HeaderList::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (core::ascii_iequals(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::size_t HeaderList::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(fields_.begin(), fields_.end(),
                    [&](const Field& f) { return core::ascii_iequals(f.first, name); }));
}

std::string_view RequestHead::path() const {
  const std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string_view RequestHead::query() const {
  const std::string_view t(target);
  const auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

namespace {

// Heads are serialized for every request and response: std::to_chars, not a format string.
void append_decimal(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void append_fields(std::string& out, const HeaderList& headers, BodyFraming framing,
                   std::uint64_t content_length) {
  for (const auto& [name, value] : headers.fields()) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (framing == BodyFraming::ContentLength) {
    out += "Content-Length: ";
    append_decimal(out, content_length);
    out += "\r\n";
  } else if (framing == BodyFraming::Chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  out += "\r\n";
}

}  // namespace

std::string serialize_request_head(const RequestHead& head) {
  std::string out;
  out.reserve(256 + head.headers.fields().size() * 48);
  out += head.method;
  out += ' ';
  out += head.target;
  out += " HTTP/1.1\r\n";
  append_fields(out, head.headers, head.framing, head.content_length);
  return out;
}

std::string serialize_response_head(const ResponseHead& head) {
  std::string out;
  out.reserve(256 + head.headers.fields().size() * 48);
  out += head.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_decimal(out, static_cast<std::uint64_t>(head.status));
  out += ' ';
  out += head.reason.empty() ? std::string_view(reason_phrase(head.status)) : head.reason;
  out += "\r\n";
  append_fields(out, head.headers, head.framing, head.content_length);
  return out;
}

std::string chunk_header(std::size_t size) {
  return fmt::format("{:x}\r\n", size);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 495:
      return "SSL Certificate Error";
    case 496:
      return "SSL Certificate Required";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace portcullis::proxy

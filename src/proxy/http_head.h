// HTTP/1.1 message heads as the pipeline sees them (fields in arrival order, names as sent) and
// their serialisation towards the upstream and the client. No I/O, no Beast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portcullis::proxy {

/// Ordered header fields; names keep their original case.
class HeaderList {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  /// Replaces every field called `name` by one field with `value`.
  void set(std::string_view name, std::string value);
  /// Removes every field called `name`; returns how many were removed.
  std::size_t remove(std::string_view name);
  /// The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  const std::vector<Field>& fields() const { return fields_; }
  std::vector<Field>& fields() { return fields_; }
  void clear() { fields_.clear(); }
  void reserve(std::size_t n) { fields_.reserve(n); }

 private:
  std::vector<Field> fields_;
};

/// How a message body is delimited on the wire.
enum class BodyFraming { None, ContentLength, Chunked, UntilClose };

struct RequestHead {
  std::string method;
  std::string target;
  int version = 11;  ///< 10 or 11
  HeaderList headers;
  BodyFraming framing = BodyFraming::None;
  std::uint64_t content_length = 0;
  bool keep_alive = true;

  std::string_view path() const;   ///< target without the query
  std::string_view query() const;  ///< after '?', empty when none
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version = 11;
  HeaderList headers;
  BodyFraming framing = BodyFraming::None;
  std::uint64_t content_length = 0;
  bool keep_alive = true;
};

/// "METHOD target HTTP/1.1\r\n" + fields + framing field + "\r\n".
std::string serialize_request_head(const RequestHead& head);

/// "HTTP/1.1 status reason\r\n" + fields + framing field + "\r\n".
std::string serialize_response_head(const ResponseHead& head);

/// The standard reason phrase of a status ("Not Found"); "Unknown" when none.
std::string_view reason_phrase(int status);

/// Chunked transfer coding frame header for a chunk of `size` bytes ("1a2b\r\n").
std::string chunk_header(std::size_t size);
inline constexpr std::string_view kChunkTrailer = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace portcullis::proxy

// A small allocation-friendly JSON object writer for the hot paths (access log, problem+json).
// nlohmann::json is used on the control plane; this one only appends to a std::string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portcullis::core {

/// Appends `value` to `out` as the inside of a JSON string (no quotes), escaping as RFC 8259
/// requires. Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void json_escape_to(std::string& out, std::string_view value);

/// Writes one flat JSON object: `{"k":"v","n":1}`. Nesting via raw() of another writer's text.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectWriter& str(std::string_view key, std::string_view value);
  JsonObjectWriter& num(std::string_view key, std::int64_t value);
  JsonObjectWriter& num(std::string_view key, double value);
  JsonObjectWriter& boolean(std::string_view key, bool value);
  JsonObjectWriter& null(std::string_view key);
  /// Inserts already-serialised JSON (an object or array) as the value of `key`.
  JsonObjectWriter& raw(std::string_view key, std::string_view json);
  /// Closes the object; call exactly once.
  void finish() { out_ += '}'; }

 private:
  void key(std::string_view k);
  std::string& out_;
  bool first_ = true;
};

}  // namespace portcullis::core

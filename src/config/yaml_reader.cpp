// Path/line-tracking access to the YAML tree and the wording of type, unknown-key and
// missing-key errors, so every section of the schema reports them the same way.
#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace portcullis::config {

void Diagnostics::add(std::string message, std::string where, int line) {
  errors_.push_back(core::Error{std::move(message), std::move(where), line});
}

const core::Error& Diagnostics::first() const {
  // Line 0 means "the whole file" (e.g. no listeners at all): a precise line is more useful.
  const auto rank = [](const core::Error& e) {
    return e.line > 0 ? e.line : std::numeric_limits<int>::max();
  };
  return *std::min_element(
      errors_.begin(), errors_.end(),
      [&rank](const core::Error& a, const core::Error& b) { return rank(a) < rank(b); });
}

void Node::error(std::string message) const {
  diagnostics_->add(std::move(message), path_, line_);
}

std::string Node::describe() const {
  if (!value_) return "nothing";
  switch (value_->kind) {
    case YamlValue::Kind::Null:
      return "an empty value";
    case YamlValue::Kind::Scalar:
      return quote(value_->scalar);
    case YamlValue::Kind::Sequence:
      return "a list";
    case YamlValue::Kind::Map:
      return "a map";
  }
  return "an unknown node";
}

bool Node::expect_map() const {
  if (!value_) return false;
  if (value_->kind == YamlValue::Kind::Map) return true;
  error("expected a map, got " + describe());
  return false;
}

bool Node::expect_list() const {
  if (!value_) return false;
  if (value_->kind == YamlValue::Kind::Sequence) return true;
  error("expected a list, got " + describe());
  return false;
}

bool Node::scalar_or_error(std::string_view what) const {
  if (!value_) return false;
  if (value_->kind == YamlValue::Kind::Scalar) return true;
  error("expected " + std::string(what) + ", got " + describe());
  return false;
}

Node Node::get(std::string_view key) const {
  if (value_ && value_->kind == YamlValue::Kind::Map) {
    for (const auto& entry : value_->entries) {
      if (entry.key == key)
        return Node(&entry.value, child_path(path_, key), entry.key_line, *diagnostics_);
    }
  }
  return Node(nullptr, child_path(path_, key), line_, *diagnostics_);
}

Node Node::require(std::string_view key) const {
  Node child = get(key);
  // Only a map can be missing a key; other kinds already got a type error.
  if (!child.present() && value_ && value_->kind == YamlValue::Kind::Map) {
    error("missing required key " + quote(key));
  }
  return child;
}

void Node::allow_keys(std::initializer_list<std::string_view> keys) const {
  if (!value_ || value_->kind != YamlValue::Kind::Map) return;
  for (const auto& entry : value_->entries) {
    if (std::find(keys.begin(), keys.end(), entry.key) != keys.end()) continue;
    std::string expected;
    for (const auto key : keys) {
      if (!expected.empty()) expected += ", ";
      expected += key;
    }
    diagnostics_->add("unknown key " + quote(entry.key) + " (expected one of: " + expected + ")",
                      child_path(path_, entry.key), entry.key_line);
  }
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (!value_ || value_->kind != YamlValue::Kind::Sequence) return out;
  out.reserve(value_->items.size());
  for (std::size_t i = 0; i < value_->items.size(); ++i) {
    const auto& item = value_->items[i];
    out.emplace_back(&item, item_path(path_, i), item.line > 0 ? item.line : line_, *diagnostics_);
  }
  return out;
}

std::vector<std::pair<std::string, Node>> Node::entries() const {
  std::vector<std::pair<std::string, Node>> out;
  if (!value_ || value_->kind != YamlValue::Kind::Map) return out;
  out.reserve(value_->entries.size());
  for (const auto& entry : value_->entries) {
    out.emplace_back(
        entry.key, Node(&entry.value, child_path(path_, entry.key), entry.key_line, *diagnostics_));
  }
  return out;
}

std::optional<std::string> Node::text() const {
  if (!scalar_or_error("a string")) return std::nullopt;
  return value_->scalar;
}

std::optional<std::string> Node::non_empty_text() const {
  auto value = text();
  if (value && value->empty()) {
    error("must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> Node::integer(std::int64_t min, std::int64_t max) const {
  if (!scalar_or_error("an integer")) return std::nullopt;
  const std::string& s = value_->scalar;
  std::int64_t number = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  const bool digits_only = end == s.data() + s.size() && !s.empty();
  if (ec == std::errc::result_out_of_range && digits_only) {
    error("integer out of range: " + s);
    return std::nullopt;
  }
  if (ec != std::errc{} || !digits_only) {
    error("expected an integer, got " + quote(s));
    return std::nullopt;
  }
  if (number < min || number > max) {
    error("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
          std::to_string(number));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> Node::boolean() const {
  if (!scalar_or_error("true or false")) return std::nullopt;
  const std::string& s = value_->scalar;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  error("expected true or false, got " + quote(s));
  return std::nullopt;
}

}  // namespace portcullis::config

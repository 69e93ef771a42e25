// Internal to src/config: schema-side access to a YamlValue tree that tracks the YAML path
// ("listeners[0].tls.cert") and line of every node, and reports type errors, unknown keys and
// missing keys into a Diagnostics list instead of stopping at the first one.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/quote.h"
#include "config/yaml_tree.h"
#include "core/result.h"

namespace portcullis::config {

/// Every error found while reading a config. The loader reports the earliest one in the file.
class Diagnostics {
 public:
  void add(std::string message, std::string where, int line);
  bool empty() const { return errors_.empty(); }
  /// The error with the smallest line; errors about the whole file (line 0) come last; ties keep
  /// the order of discovery. Precondition: !empty().
  const core::Error& first() const;
  const std::vector<core::Error>& all() const { return errors_; }

 private:
  std::vector<core::Error> errors_;
};

/// A position in the document: a node, or the place where an absent key would be (then the path
/// is the key's and the line is the parent's). Accessors of an absent node return nullopt without
/// an error, so optional keys read naturally: `if (auto v = node.get("x").integer(0, 9)) ...`.
class Node {
 public:
  Node(const YamlValue* value, std::string path, int line, Diagnostics& diagnostics)
      : value_(value), path_(std::move(path)), line_(line), diagnostics_(&diagnostics) {}

  /// The document root: path "", line 0 (errors about it name the file).
  static Node root(const YamlValue& value, Diagnostics& diagnostics) {
    return Node(&value, "", 0, diagnostics);
  }

  bool present() const { return value_ != nullptr; }
  bool is_null() const { return value_ && value_->kind == YamlValue::Kind::Null; }
  bool is_scalar() const { return value_ && value_->kind == YamlValue::Kind::Scalar; }
  const std::string& path() const { return path_; }
  int line() const { return line_; }
  Origin origin() const { return Origin{path_, line_}; }

  /// Records an error at this node.
  void error(std::string message) const;

  /// True for a map; otherwise records "expected a map, got ..." (absent: false, no error).
  bool expect_map() const;
  /// True for a sequence; otherwise records "expected a list, got ..." (absent: false, no error).
  bool expect_list() const;

  /// The value of `key` in this map, or an absent node.
  Node get(std::string_view key) const;
  /// Like get(), but a missing key is an error naming this (parent) node's path and line.
  Node require(std::string_view key) const;
  /// Records `unknown key "k" (expected one of: ...)` for every other key of this map.
  void allow_keys(std::initializer_list<std::string_view> keys) const;

  /// The items of a sequence (empty for anything else).
  std::vector<Node> items() const;
  /// The entries of a map in document order (empty for anything else).
  std::vector<std::pair<std::string, Node>> entries() const;

  /// A scalar as text ("" allowed); other kinds are an error.
  std::optional<std::string> text() const;
  /// A scalar that is not empty.
  std::optional<std::string> non_empty_text() const;
  /// A decimal integer in [min, max].
  std::optional<std::int64_t> integer(std::int64_t min, std::int64_t max) const;
  /// true or false (also True/TRUE/False/FALSE; never yes/no/on/off, which are ambiguous).
  std::optional<bool> boolean() const;

  /// One of a fixed set of words: `unknown <what> "x" (expected one of: a, b)`.
  template <class T>
  std::optional<T> choice(std::string_view what,
                          std::initializer_list<std::pair<std::string_view, T>> options) const {
    auto word = text();
    if (!word) return std::nullopt;
    std::string names;
    for (const auto& [name, value] : options) {
      if (name == *word) return value;
      if (!names.empty()) names += ", ";
      names += name;
    }
    error("unknown " + std::string(what) + " " + quote(*word) + " (expected one of: " + names +
          ")");
    return std::nullopt;
  }

  /// A scalar converted by `parse` (string_view -> core::Result<T>); its error message is
  /// recorded at this node. `what` names the expected kind for type errors ("a duration").
  template <class Parse>
  auto parsed(std::string_view what, Parse&& parse) const
      -> std::optional<typename decltype(parse(std::string_view{}))::value_type> {
    if (!scalar_or_error(what)) return std::nullopt;
    auto result = parse(std::string_view(value_->scalar));
    if (!result) {
      error(std::move(result.error().message));
      return std::nullopt;
    }
    return std::move(*result);
  }

 private:
  /// True for a scalar; records "expected <what>, got ..." for other kinds.
  bool scalar_or_error(std::string_view what) const;
  std::string describe() const;

  const YamlValue* value_;
  std::string path_;
  int line_;
  Diagnostics* diagnostics_;
};

}  // namespace portcullis::config

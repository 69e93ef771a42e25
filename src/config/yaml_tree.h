// Internal to src/config: a plain, yaml-cpp-free tree of one YAML document with 1-based lines,
// so the schema code and its headers never see yaml-cpp (yaml_tree.cpp is its only user).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace portcullis::config {

struct YamlEntry;

/// One YAML node. Scalars keep their text untyped: the schema decides what "off" or "2" means.
struct YamlValue {
  enum class Kind { Null, Scalar, Sequence, Map };
  Kind kind = Kind::Null;
  std::string scalar;              ///< Scalar only
  std::vector<YamlValue> items;    ///< Sequence only
  std::vector<YamlEntry> entries;  ///< Map only, in document order, keys unique
  int line = 0;                    ///< 1-based; 0 when yaml-cpp gave no position
};

struct YamlEntry {
  std::string key;
  int key_line = 0;  ///< 1-based line of the key: where an operator looks for the setting
  YamlValue value;
};

/// The path of a map entry: "key" at the root, "parent.key" below it.
std::string child_path(std::string_view parent, std::string_view key);

/// The path of a sequence item: "parent[index]".
std::string item_path(std::string_view parent, std::size_t index);

/// Parses exactly one YAML document. Errors carry the 1-based line (syntax errors, duplicate
/// keys, non-scalar keys, several documents, nesting or alias expansion beyond sane limits).
/// An empty document yields a Null value.
core::Result<YamlValue> parse_yaml(std::string_view text);

}  // namespace portcullis::config

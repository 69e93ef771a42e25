// The only yaml-cpp user: parses text and copies it into a YamlValue tree, turning every yaml-cpp
// exception into an Error with a line, and rejecting what yaml-cpp silently accepts (duplicate
// keys, extra documents) or cannot bound (alias cycles and expansion bombs).
#include "config/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace portcullis::config {
namespace {

// SECURITY: aliases make yaml-cpp nodes a graph (it even allows `&a [*a]`); copying into a tree
// is bounded so a hostile or broken file cannot exhaust the stack or memory.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100'000;

int line_of(const YAML::Mark& mark, int fallback) {
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

class TreeBuilder {
 public:
  core::Result<YamlValue> build(const YAML::Node& node, const std::string& path, int fallback_line,
                                int depth) {
    if (++nodes_ > kMaxNodes) {
      return core::fail(
          "the document expands to more than " + std::to_string(kMaxNodes) + " nodes (aliases?)",
          path, fallback_line);
    }
    if (depth > kMaxDepth) {
      return core::fail(
          "nesting deeper than " + std::to_string(kMaxDepth) + " levels (recursive alias?)", path,
          fallback_line);
    }
    YamlValue out;
    out.line = line_of(node.Mark(), fallback_line);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind = YamlValue::Kind::Null;
        break;
      case YAML::NodeType::Scalar:
        out.kind = YamlValue::Kind::Scalar;
        out.scalar = node.Scalar();
        break;
      case YAML::NodeType::Sequence: {
        out.kind = YamlValue::Kind::Sequence;
        std::size_t index = 0;
        for (const auto& item : node) {
          auto child = build(item, item_path(path, index), out.line, depth + 1);
          if (!child) return std::unexpected(std::move(child.error()));
          out.items.push_back(std::move(*child));
          ++index;
        }
        break;
      }
      case YAML::NodeType::Map: {
        out.kind = YamlValue::Kind::Map;
        for (const auto& pair : node) {
          const int key_line = line_of(pair.first.Mark(), out.line);
          if (!pair.first.IsScalar()) {
            return core::fail("map keys must be plain strings", path, key_line);
          }
          const std::string key = pair.first.Scalar();
          const std::string entry_path = child_path(path, key);
          for (const auto& seen : out.entries) {
            if (seen.key == key) {
              return core::fail("duplicate key \"" + key + "\" (first at line " +
                                    std::to_string(seen.key_line) + ")",
                                entry_path, key_line);
            }
          }
          auto value = build(pair.second, entry_path, key_line, depth + 1);
          if (!value) return std::unexpected(std::move(value.error()));
          out.entries.push_back(YamlEntry{key, key_line, std::move(*value)});
        }
        break;
      }
    }
    return out;
  }

 private:
  std::size_t nodes_ = 0;
};

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string item_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

core::Result<YamlValue> parse_yaml(std::string_view text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string message = "YAML syntax error: " + e.msg;
    if (e.mark.column >= 0) message += " (column " + std::to_string(e.mark.column + 1) + ")";
    return core::fail(std::move(message), {}, e.mark.line >= 0 ? e.mark.line + 1 : 0);
  } catch (const std::exception& e) {
    return core::fail(std::string("YAML syntax error: ") + e.what());
  }
  if (documents.empty()) return YamlValue{};
  for (std::size_t i = 1; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;  // a trailing "---" is harmless
    return core::fail("the file holds more than one YAML document (\"---\"); use one", {},
                      line_of(documents[i].Mark(), 0));
  }
  try {
    return TreeBuilder{}.build(documents.front(), "", 1, 0);
  } catch (const std::exception& e) {
    return core::fail(std::string("YAML error: ") + e.what());
  }
}

}  // namespace portcullis::config

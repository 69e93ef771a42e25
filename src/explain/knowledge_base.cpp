// Loads the compiled-in knowledge base and adds the denial catalogue as entries.
#include "explain/knowledge_base.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

#include "core/denial.h"

namespace portcullis::explain {
namespace {

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key)) {
    for (const auto& s : j.at(key)) out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<KbEntry> load() {
  std::vector<KbEntry> out;
  try {
    const auto doc = nlohmann::json::parse(knowledge_base_json());
    for (const auto& j : doc.at("entries")) {
      KbEntry e;
      e.id = j.at("id").get<std::string>();
      e.source = j.at("source").get<std::string>();
      e.title = j.at("title").get<std::string>();
      e.patterns = strings(j, "patterns");
      e.codes = strings(j, "codes");
      e.examples = strings(j, "examples");
      e.cause = j.at("cause").get<std::string>();
      e.fix = j.at("fix").get<std::string>();
      e.denial = j.value("denial", "");
      e.wraps = j.value("wraps", false);
      out.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& ex) {
    std::fprintf(stderr, "portcullis: the embedded knowledge base is malformed: %s\n", ex.what());
    std::abort();
  }
  for (const auto& row : core::catalogue()) {
    KbEntry e;
    const std::string code(row.code);
    e.id = "denial." + code;
    e.source = "Portcullis";
    e.title = std::string(row.title) + " (" + code + ")";
    e.patterns = {code, std::string(row.title)};
    e.codes = {code};
    e.examples = {"X-Denial-Code: " + code,
                  std::to_string(row.status) + " " + std::string(row.title)};
    e.cause = std::string(row.title) + ".";
    e.fix = std::string(row.hint);
    e.denial = code;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

const std::vector<KbEntry>& knowledge_base() {
  static const std::vector<KbEntry> entries = load();
  return entries;
}

const KbEntry* find_entry(std::string_view id) {
  for (const auto& e : knowledge_base()) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

}  // namespace portcullis::explain

// The knowledge base behind `portcullis explain`: what operators see (error texts, statuses,
// codes) mapped to cause and fix. Entries come from knowledge_base.json (compiled in) plus one
// entry per denial code, generated from the catalogue so nothing is duplicated.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::explain {

/// One symptom. Patterns use the matching language of kb_match.h.
struct KbEntry {
  std::string id;      ///< stable, e.g. "openssl.verify.20", "denial.mtls.cert_missing"
  std::string source;  ///< who prints it: "OpenSSL", "curl", "nginx", "Portcullis", ...
  std::string title;
  std::vector<std::string> patterns;  ///< matched anywhere in the text
  std::vector<std::string> codes;     ///< matched against the whole input (a number, a code name)
  std::vector<std::string> examples;  ///< real texts; the first is the canonical one
  std::string cause;
  std::string fix;
  std::string denial;  ///< the Portcullis denial code with the same meaning, or empty
  bool wraps = false;  ///< its texts carry another entry's message (curl (60) + OpenSSL reason)
};

/// The embedded JSON document (knowledge_base.json), generated at build time.
std::string_view knowledge_base_json();

/// Every entry: the JSON file's, then one per denial code. Parsed once; a malformed embedded file
/// is a build defect and aborts with a message (the unit tests parse it).
const std::vector<KbEntry>& knowledge_base();

/// The entry with `id`, if any.
const KbEntry* find_entry(std::string_view id);

}  // namespace portcullis::explain

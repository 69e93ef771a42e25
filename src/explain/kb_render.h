// Rendering `portcullis explain` answers (text and JSON) and docs/troubleshooting.md, all from
// the knowledge base.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "explain/kb_match.h"

namespace portcullis::explain {

/// The suggestion printed when nothing matches.
inline constexpr std::string_view kUnknownAdvice =
    "not in the knowledge base; run `portcullis probe URL` against the endpoint to find the "
    "failing step";

/// Title, source, cause, fix, the Portcullis code with the same meaning, and the other matches.
std::string explanation_text(std::string_view query, const std::vector<KbMatch>& matches);

/// {"query", "found", "match": {id, source, title, cause, fix, matched, denial?}, "also": [...]},
/// or {"query", "found": false, "advice"} when nothing matched.
nlohmann::ordered_json explanation_json(std::string_view query,
                                        const std::vector<KbMatch>& matches);

/// One entry as JSON (also `portcullis explain --list --json`).
nlohmann::ordered_json entry_json(const KbEntry& entry);

/// docs/troubleshooting.md: one section per symptom, grouped by who prints it.
std::string troubleshooting_markdown();

}  // namespace portcullis::explain

// Tolerant matching of pasted error texts against the knowledge base. Text and patterns are
// normalised (lower case, every run of whitespace and line breaks one space); in a pattern `*`
// is any text, `#` one or more digits and `~` a word boundary (end of text or a character that
// is not a letter or digit). A pattern matches anywhere in the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "explain/knowledge_base.h"

namespace portcullis::explain {

/// Lower case, whitespace runs (including CR/LF) collapsed to one space, trimmed.
std::string normalize(std::string_view text);

/// Whether `pattern` (normalised) occurs in `text` (normalised).
bool pattern_matches(std::string_view pattern, std::string_view text);

/// One matching entry and why.
struct KbMatch {
  const KbEntry* entry = nullptr;
  std::string matched;  ///< the pattern or code that matched best
  int score = 0;        ///< literal characters of every matching pattern; a whole-input code: 1000
};

/// Every entry matching `text`, best first (ties: knowledge-base order). Empty = unknown.
std::vector<KbMatch> match_text(std::string_view text);

}  // namespace portcullis::explain

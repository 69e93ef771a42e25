// Glob-style pattern matching and scoring for `portcullis explain`.
#include "explain/kb_match.h"

#include <algorithm>
#include <cctype>

namespace portcullis::explain {
namespace {

bool is_word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

/// Whether `p` matches a prefix of `t`.
bool match_here(std::string_view p, std::string_view t) {
  while (!p.empty()) {
    const char c = p.front();
    if (c == '*') {
      for (size_t k = 0; k <= t.size(); ++k) {
        if (match_here(p.substr(1), t.substr(k))) return true;
      }
      return false;
    }
    if (c == '#') {
      for (size_t k = 1; k <= t.size() && is_digit(t[k - 1]); ++k) {
        if (match_here(p.substr(1), t.substr(k))) return true;
      }
      return false;
    }
    if (c == '~') {
      if (!t.empty() && is_word(t.front())) return false;
      p.remove_prefix(1);
      continue;
    }
    if (t.empty() || t.front() != c) return false;
    p.remove_prefix(1);
    t.remove_prefix(1);
  }
  return true;
}

int literal_length(std::string_view pattern) {
  return static_cast<int>(std::count_if(pattern.begin(), pattern.end(),
                                        [](char c) { return c != '*' && c != '#' && c != '~'; }));
}

}  // namespace

std::string normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool pattern_matches(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return false;
  for (size_t start = 0; start < text.size(); ++start) {
    // A word pattern never starts inside a word: "401.1" must not match in "1401.1".
    if (start > 0 && is_word(pattern.front()) && is_word(text[start - 1])) continue;
    if (match_here(pattern, text.substr(start))) return true;
  }
  return false;
}

std::vector<KbMatch> match_text(std::string_view text) {
  const std::string t = normalize(text);
  std::vector<KbMatch> out;
  if (t.empty()) return out;
  for (const auto& entry : knowledge_base()) {
    KbMatch m{&entry, {}, 0};
    int best = 0;
    for (const auto& code : entry.codes) {
      if (normalize(code) == t) {
        m.score += 1000;
        m.matched = code;
        best = 1000;
      }
    }
    for (const auto& pattern : entry.patterns) {
      const std::string p = normalize(pattern);
      if (!pattern_matches(p, t)) continue;
      const int len = literal_length(p);
      m.score += len;
      if (len > best) {
        best = len;
        m.matched = pattern;
      }
    }
    if (m.score > 0) out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const KbMatch& a, const KbMatch& b) { return a.score > b.score; });
  return out;
}

}  // namespace portcullis::explain

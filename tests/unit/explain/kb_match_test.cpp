// The explain knowledge base: the embedded file parses, every entry is found from each of its
// example texts (and from a re-wrapped, re-cased copy), codes and patterns behave, and unknown
// text stays unknown.
#include "explain/kb_match.h"

#include <gtest/gtest.h>

#include <set>

#include "core/denial.h"
#include "explain/kb_render.h"

namespace portcullis::explain {
namespace {

std::string top_id(std::string_view text) {
  const auto m = match_text(text);
  return m.empty() ? std::string("<none>") : m.front().entry->id;
}

/// The same message as a log viewer might show it: upper case, wrapped, indented.
std::string mangled(const std::string& text) {
  std::string out;
  int words = 0;
  for (const char c : text) {
    if (c == ' ' && ++words % 3 == 0) {
      out += "\r\n   ";
    } else {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return "  " + out + "\n";
}

TEST(Normalize, CollapsesWhitespaceAndCase) {
  EXPECT_EQ(normalize("  Foo\r\n\tBAR  baz \n"), "foo bar baz");
  EXPECT_EQ(normalize(" \n "), "");
}

TEST(PatternMatches, Wildcards) {
  EXPECT_TRUE(pattern_matches("failed to connect to # port #", "failed to connect to 10 port 443"));
  EXPECT_FALSE(pattern_matches("port #", "port x"));
  EXPECT_TRUE(pattern_matches("valid for * not *", "x509: valid for a, b, not c"));
  EXPECT_TRUE(pattern_matches("401.1~", "http error 401.1 - unauthorized"));
  EXPECT_TRUE(pattern_matches("401.1~", "(401.1)"));
  EXPECT_TRUE(pattern_matches("401.1~", "401.1"));
  EXPECT_FALSE(pattern_matches("403.1~", "http error 403.16"));
  EXPECT_FALSE(pattern_matches("401.1", "1401.1"));  // a word pattern does not start mid-word
  EXPECT_FALSE(pattern_matches("", "anything"));
}

TEST(KnowledgeBase, EntriesAreWellFormed) {
  std::set<std::string> ids;
  for (const auto& e : knowledge_base()) {
    EXPECT_TRUE(ids.insert(e.id).second) << "duplicate id " << e.id;
    EXPECT_FALSE(e.title.empty()) << e.id;
    EXPECT_FALSE(e.cause.empty()) << e.id;
    EXPECT_FALSE(e.fix.empty()) << e.id;
    EXPECT_FALSE(e.patterns.empty() && e.codes.empty()) << e.id;
    EXPECT_GE(e.examples.size(), 2u) << e.id << ": a canonical text and a variant";
    if (!e.denial.empty()) {
      EXPECT_TRUE(core::find_denial(e.denial)) << e.id << " " << e.denial;
    }
  }
  for (const auto& row : core::catalogue()) {
    EXPECT_NE(find_entry("denial." + std::string(row.code)), nullptr) << row.code;
  }
}

bool found(std::string_view text, const std::string& id) {
  for (const auto& m : match_text(text)) {
    if (m.entry->id == id) return true;
  }
  return false;
}

// The canonical text finds its entry first, unless the entry wraps another message (curl's
// "(60) SSL certificate problem: <OpenSSL reason>"), where the inner reason comes first and the
// wrapper is among the matches. Every example and its mangled variant finds the entry.
TEST(KnowledgeBase, EveryEntryIsFoundFromEachExampleAndAVariant) {
  for (const auto& e : knowledge_base()) {
    if (!e.wraps) {
      EXPECT_EQ(top_id(e.examples.front()), e.id) << "canonical: " << e.examples.front();
    }
    for (const auto& example : e.examples) {
      EXPECT_TRUE(found(example, e.id)) << e.id << " example: " << example;
      EXPECT_TRUE(found(mangled(example), e.id)) << e.id << " variant of: " << example;
    }
  }
}

TEST(KnowledgeBase, CodesMatchTheWholeInput) {
  EXPECT_EQ(top_id("20"), "openssl.verify.20");
  EXPECT_EQ(top_id("X509_V_ERR_CERT_HAS_EXPIRED"), "openssl.verify.10");
  EXPECT_EQ(top_id("403.16"), "iis.403.16");
  EXPECT_EQ(top_id("mtls.cert_missing"), "denial.mtls.cert_missing");
  EXPECT_EQ(top_id("X-Denial-Code: jwt.expired"), "denial.jwt.expired");
}

TEST(KnowledgeBase, VariablePartsMayDiffer) {
  EXPECT_EQ(top_id("curl: (7) Failed to connect to db.corp port 5432 after 12 ms: Connection "
                   "refused"),
            "curl.7");
  const std::string nginx =
      "client SSL certificate verify error: (26:unsuitable certificate purpose)";
  EXPECT_EQ(top_id(nginx), "openssl.verify.26");           // the inner reason first,
  EXPECT_TRUE(found(nginx, "nginx.client_verify_error"));  // the wrapper among the matches
  EXPECT_EQ(top_id("x509: certificate is valid for a.example, b.example, not c.example"),
            "go.hostname");
}

TEST(KnowledgeBase, UnknownTextIsUnknown) {
  EXPECT_TRUE(match_text("the flux capacitor is misaligned").empty());
  const auto j = explanation_json("the flux capacitor", {});
  EXPECT_FALSE(j["found"].get<bool>());
  EXPECT_NE(j["advice"].get<std::string>().find("probe"), std::string::npos);
}

TEST(Troubleshooting, HasASectionPerEntry) {
  const std::string md = troubleshooting_markdown();
  for (const auto& e : knowledge_base()) {
    EXPECT_NE(md.find("### " + e.title + "\n"), std::string::npos) << e.id;
  }
}

}  // namespace
}  // namespace portcullis::explain

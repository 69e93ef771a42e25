// docs/denials.md is generated: it must be deterministic, complete, and well-formed markdown.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/denial.h"
#include "explain/render.h"

namespace portcullis::explain {
namespace {

TEST(DenialsMarkdown, DeterministicAndEndsWithOneNewline) {
  const std::string md = denials_markdown();
  EXPECT_EQ(md, denials_markdown());
  ASSERT_GE(md.size(), 2u);
  EXPECT_EQ(md.back(), '\n');
  EXPECT_NE(md[md.size() - 2], '\n');
  EXPECT_EQ(md.find("\r"), std::string::npos);
  EXPECT_EQ(md.find("\n\n\n"), std::string::npos);
}

TEST(DenialsMarkdown, SaysItIsGenerated) {
  const std::string md = denials_markdown();
  EXPECT_EQ(md.rfind("# Denial codes\n", 0), 0u);
  EXPECT_NE(md.find("`portcullis denials --markdown`"), std::string::npos);
  EXPECT_NE(md.find("do not edit it by hand"), std::string::npos);
}

TEST(DenialsMarkdown, ExplainsTheResponse) {
  const std::string md = denials_markdown();
  for (std::string_view needle :
       {"X-Denial-Code", "X-Request-Id", "application/problem+json",
        "urn:portcullis:denial:", "`instance`", "`detail`", "errors.detail",
        "errors.detail_networks", "WWW-Authenticate", "Retry-After", "Cache-Control: no-store"}) {
    EXPECT_NE(md.find(needle), std::string::npos) << needle;
  }
}

TEST(DenialsMarkdown, OneRowPerCodeInCatalogueOrder) {
  const std::string md = denials_markdown();
  std::size_t last = 0;
  for (const auto& row : core::catalogue()) {
    const std::string cell = "| `" + std::string(row.code) + "` | " + std::to_string(row.status) +
                             " | " + std::string(core::stage_name(row.stage)) + " | ";
    const auto at = md.find(cell);
    ASSERT_NE(at, std::string::npos) << row.code;
    EXPECT_EQ(md.find(cell, at + 1), std::string::npos) << "twice: " << row.code;
    EXPECT_GT(at, last) << row.code;
    last = at;
  }
}

TEST(DenialsMarkdown, TableRowsAreWellFormed) {
  std::istringstream in(denials_markdown());
  std::string line;
  int rows = 0;
  int tables = 0;
  while (std::getline(in, line)) {
    if (line == "| Code | Status | Stage | Title | Hint |") ++tables;
    if (!line.starts_with("| `")) continue;
    ++rows;
    // Five cells = six unescaped pipes.
    int pipes = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++pipes;
    }
    EXPECT_EQ(pipes, 6) << line;
    EXPECT_TRUE(line.ends_with(" |")) << line;
  }
  EXPECT_EQ(rows, static_cast<int>(core::catalogue().size()));
  EXPECT_GE(tables, 10);  // one per family
}

TEST(DenialsMarkdown, AngleBracketsOutsideCodeAreEscaped) {
  // The upstream.tls_failed hint names "upstreams.<name>.tls.ca", which must not become a tag.
  const std::string md = denials_markdown();
  EXPECT_NE(md.find("upstreams.&lt;name&gt;.tls.ca"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::explain

// `portcullis explain TEXT|CODE [--json]`, `--list`, `--markdown`: what an error message, status
// or code means and how to fix it, from the compiled-in knowledge base (explain/kb_*.h).
// Exit 0 explained, 1 unknown text, 2 usage.
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/commands.h"
#include "explain/kb_match.h"
#include "explain/kb_render.h"

namespace portcullis::cli {
namespace {

struct ExplainArgs {
  std::vector<std::string> words;
  bool json = false;
  bool markdown = false;
  bool list = false;
};

int list_entries(bool json) {
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& e : explain::knowledge_base()) out.push_back(explain::entry_json(e));
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& e : explain::knowledge_base()) std::cout << e.id << "\t" << e.title << "\n";
  }
  return 0;
}

}  // namespace

Command add_explain_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("explain", "Explain an error message, status or code: its cause and fix");
  cmd->footer(
      "TEXT is what you saw (quote it; '-' reads it from stdin): an OpenSSL, curl, Go, nginx, "
      "HAProxy, Envoy, Azure Application Gateway, IIS or .NET message, or a Portcullis denial "
      "code. Numbers, names, paths and line breaks may differ from the original. Exit status: 0 "
      "explained, 1 not in the knowledge base, 2 usage");
  auto args = std::make_shared<ExplainArgs>();
  cmd->add_option("TEXT", args->words, "The message or code (several words are joined)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  cmd->add_flag("--markdown", args->markdown,
                "Print docs/troubleshooting.md (every entry) and exit");
  cmd->add_flag("--list", args->list, "List every entry (with --json: in full)");
  return Command{cmd, [args] {
                   if (args->markdown) {
                     std::cout << explain::troubleshooting_markdown();
                     return 0;
                   }
                   if (args->list) return list_entries(args->json);
                   std::string text;
                   if (args->words.size() == 1 && args->words.front() == "-") {
                     text.assign(std::istreambuf_iterator<char>(std::cin), {});
                   } else {
                     for (const auto& w : args->words) text += (text.empty() ? "" : " ") + w;
                   }
                   if (explain::normalize(text).empty()) {
                     print_error("explain: give the message or code to explain (see --help)");
                     return 2;
                   }
                   const auto matches = explain::match_text(text);
                   if (args->json) {
                     std::cout << explain::explanation_json(text, matches).dump(2) << "\n";
                   } else {
                     std::cout << explain::explanation_text(text, matches);
                   }
                   return matches.empty() ? 1 : 0;
                 }};
}

}  // namespace portcullis::cli

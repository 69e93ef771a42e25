// `portcullis explain TEXT|CODE|--request-id ID [--admin URL] [--json]`, `--list`, `--markdown`:
// what an error message, status, code or recent denial means and how to fix it, from the
// compiled-in knowledge base (explain/kb_*.h). Exit 0 explained, 1 unknown, 2 usage.
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/commands.h"
#include "diag/admin_client.h"
#include "explain/kb_match.h"
#include "explain/kb_render.h"

namespace portcullis::cli {
namespace {

struct ExplainArgs {
  std::vector<std::string> words;
  bool json = false;
  bool markdown = false;
  bool list = false;
  std::string request_id;
  std::string admin = "http://127.0.0.1:9901";
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

/// --request-id: the denial as the gateway recorded it, then its code explained.
int explain_request(const ExplainArgs& args) {
  auto record = diag::fetch_denial(args.admin, args.request_id, std::chrono::seconds(5));
  if (!record) {
    print_error("explain: " + record.error().message);
    return 2;
  }
  if (!*record) {
    if (args.json) {
      std::cout << nlohmann::ordered_json{{"request_id", args.request_id}, {"found", false}}.dump(2)
                << "\n";
    } else {
      std::cout << "request " << args.request_id << ": no recent denial with this id at "
                << args.admin
                << " (the gateway keeps the last 1024; or the request was not denied)\n";
    }
    return 1;
  }
  const nlohmann::json& d = **record;
  const std::string code = d.value("code", "");
  const auto matches = explain::match_text(code);
  if (args.json) {
    nlohmann::ordered_json out{{"request_id", args.request_id}, {"found", true}};
    out["denial"] = d;
    out["explanation"] = explain::explanation_json(code, matches);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "request " << args.request_id << ": " << d.value("status", 0) << " " << code
              << " at " << d.value("ts", "") << " (listener " << d.value("listener", "")
              << ", route " << d.value("route", "") << ", stage " << d.value("stage", "") << ")\n";
    if (!d.value("detail", "").empty()) std::cout << "  Detail: " << d.value("detail", "") << "\n";
    std::cout << explain::explanation_text(code, matches);
  }
  return 0;
}

}  // namespace

Command add_explain_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("explain", "Explain an error message, status or code: its cause and fix");
  cmd->footer(
      "TEXT is what you saw (quote it; '-' reads it from stdin): an OpenSSL, curl, Go, Java, "
      "Node.js, nginx, HAProxy, Envoy, Azure Application Gateway, IIS or .NET message, or a "
      "Portcullis denial code. Numbers, names, paths and line breaks may differ from the "
      "original. Exit status: 0 explained, 1 not in the knowledge base (or no such recent "
      "denial), 2 usage or an unreachable admin listener");
  auto args = std::make_shared<ExplainArgs>();
  cmd->add_option("TEXT", args->words, "The message or code (several words are joined)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  cmd->add_flag("--markdown", args->markdown,
                "Print docs/troubleshooting.md (every entry) and exit");
  cmd->add_flag("--list", args->list, "List every entry (with --json: in full)");
  cmd->add_option("--request-id", args->request_id,
                  "Explain a recent denial of a running gateway (its X-Request-Id), asked from "
                  "the admin listener");
  cmd->add_option("--admin", args->admin,
                  "The gateway's admin listener for --request-id (default http://127.0.0.1:9901)");
  return Command{cmd, [args] {
                   if (args->markdown) {
                     std::cout << explain::troubleshooting_markdown();
                     return 0;
                   }
                   if (args->list) return list_entries(args->json);
                   if (!args->request_id.empty()) {
                     if (!args->words.empty()) {
                       print_error("explain: give TEXT or --request-id, not both");
                       return 2;
                     }
                     return explain_request(*args);
                   }
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

// `portcullis denials [--markdown|--json]`: the denial catalogue (docs/denials.md is its output).
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/denial.h"
#include "explain/render.h"

namespace portcullis::cli {

Command add_denials_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("denials", "Print the catalogue of denial codes");
  auto json = std::make_shared<bool>(false);
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "As JSON");
  cmd->add_flag("--markdown", *markdown, "As Markdown (docs/denials.md), the default");
  // Both flags are captured: CLI11 writes into them while parsing, after this function returns.
  return Command{cmd, [json, markdown] {
                   if (*json) {
                     nlohmann::json out = nlohmann::json::array();
                     for (const auto& row : core::catalogue()) {
                       out.push_back({{"code", row.code},
                                      {"status", row.status},
                                      {"stage", core::stage_name(row.stage)},
                                      {"title", row.title},
                                      {"hint", row.hint}});
                     }
                     std::cout << out.dump(2) << "\n";
                   } else {  // --markdown or no flag
                     std::cout << explain::denials_markdown();
                   }
                   return 0;
                 }};
}

}  // namespace portcullis::cli

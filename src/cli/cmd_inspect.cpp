// `portcullis inspect FILE [--password-file F] [--at TIME] [--json]`: every certificate, key
// (never its material), CSR and CRL of a file (diag/inspect.h). Exit 0 decoded, 1 damaged or
// undecryptable data, 2 usage or an unreadable file.
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "diag/inspect.h"
#include "diag/password.h"
#include "diag/render.h"
#include "diag/time_arg.h"

namespace portcullis::cli {
namespace {

struct InspectArgs {
  std::string file;
  std::string at;
  std::string password_file;
  bool json = false;
};

}  // namespace

Command add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "inspect", "Show the certificates, keys, CSRs and CRLs of a file, and the chains they form");
  cmd->footer(
      "Reads PEM, DER, PKCS#7 and PKCS#12; keys are described, never printed. Exit status: 0 "
      "decoded, 1 damaged data or an unopened PKCS#12, 2 usage or an unreadable file");
  auto args = std::make_shared<InspectArgs>();
  cmd->add_option("FILE", args->file, "The file to inspect")->required();
  cmd->add_option("--at", args->at,
                  "Compute time left at this time instead of now (RFC 3339, a date, or @UNIX)");
  cmd->add_option("--password-file", args->password_file,
                  "File whose first line is the PKCS#12 password (otherwise: asked on the "
                  "terminal when needed)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  return Command{
      cmd, [args] {
        std::optional<std::chrono::system_clock::time_point> at;
        if (!args->at.empty()) {
          auto parsed = diag::parse_time_arg(args->at);
          if (!parsed)
            return file_usage_error(args->file, args->json, "--at: " + parsed.error().message);
          at = *parsed;
        }
        auto read = diag::cli_read_options(
            args->password_file.empty() ? std::nullopt : std::optional(args->password_file));
        if (!read) return file_usage_error(args->file, args->json, read.error().message);
        auto report = diag::inspect_file(args->file, *read, at);
        if (!report) return file_usage_error(args->file, args->json, report.error().message);
        if (args->json) {
          std::cout << diag::inspect_json(*report).dump(2) << "\n";
        } else {
          std::cout << diag::inspect_text(*report);
        }
        return report->problems.empty() ? 0 : 1;
      }};
}

}  // namespace portcullis::cli

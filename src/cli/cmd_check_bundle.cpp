// `portcullis check-bundle FILE [--one-root] [--at TIME] [--password-file F] [--json]`: validates
// a trusted-client-CA bundle (diag/bundle_checks.h). Exit 0 clean or warnings only, 1 errors,
// 2 usage or an unreadable file.
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "diag/bundle_checks.h"
#include "diag/password.h"
#include "diag/render.h"
#include "diag/time_arg.h"

namespace portcullis::cli {
namespace {

struct CheckBundleArgs {
  std::string file;
  bool one_root = false;
  std::string at;
  std::string password_file;
  bool json = false;
};

}  // namespace

Command add_check_bundle_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "check-bundle", "Validate a trusted client CA bundle: every finding with a code and a fix");
  cmd->footer(
      "Reads PEM, DER, PKCS#7 and PKCS#12. Exit status: 0 no error (warnings allowed), 1 errors "
      "found, 2 usage or an unreadable file. Codes and fixes: docs/diagnostics.md");
  auto args = std::make_shared<CheckBundleArgs>();
  cmd->add_option("FILE", args->file, "The bundle to check")->required();
  cmd->add_flag("--one-root", args->one_root,
                "Require exactly one self-signed root (Azure Application Gateway's rule): "
                "bundle.root_count becomes an error");
  cmd->add_option("--at", args->at,
                  "Judge validity at this time instead of now (RFC 3339, a date, or @UNIX)");
  cmd->add_option("--password-file", args->password_file,
                  "File whose first line is the PKCS#12 password (otherwise: asked on the "
                  "terminal when needed)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  return Command{
      cmd, [args] {
        diag::BundleOptions options;
        options.one_root = args->one_root;
        if (!args->at.empty()) {
          auto at = diag::parse_time_arg(args->at);
          if (!at) return file_usage_error(args->file, args->json, "--at: " + at.error().message);
          options.at = *at;
        }
        auto read = diag::cli_read_options(
            args->password_file.empty() ? std::nullopt : std::optional(args->password_file));
        if (!read) return file_usage_error(args->file, args->json, read.error().message);
        auto report = diag::check_bundle_file(args->file, options, *read);
        if (!report) return file_usage_error(args->file, args->json, report.error().message);
        if (args->json) {
          std::cout << diag::bundle_json(*report).dump(2) << "\n";
        } else {
          std::cout << diag::bundle_text(*report);
        }
        return report->error_count() > 0 ? 1 : 0;
      }};
}

}  // namespace portcullis::cli

// `portcullis doctor -c FILE [--user U] [--json]` (diag/doctor.h): check-config plus what only
// the running machine can tell. Exit 0 no error finding, 1 error findings, 2 usage.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "diag/doctor.h"
#include "diag/startup_warnings.h"
#include "net/server.h"

namespace portcullis::cli {
namespace {

struct DoctorArgs {
  std::string file;
  std::string user;
  double timeout_s = 3;
  bool json = false;
};

}  // namespace

Command add_doctor_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check a configuration against this machine: expiry, permissions, reachability");
  cmd->footer(
      "Runs check-config, then: certificates/bundles/CRLs expiring within 30 days, key and "
      "htpasswd files readable by the service account and not by others, upstreams, external "
      "authenticators, JWKS urls and their proxies resolvable and reachable (probe's steps, "
      "through each target's configured proxy), internal targets sent through a proxy, the clock "
      "against servers' Date, users in several htpasswd files, routes shadowed "
      "by an earlier one. Exit status: 0 no errors, 1 errors found, 2 usage");
  auto args = std::make_shared<DoctorArgs>();
  cmd->add_option("-c,--config", args->file, "Configuration file (YAML)")->required();
  cmd->add_option("--user", args->user,
                  "The account the gateway runs as (default: the current user)");
  cmd->add_option("--timeout", args->timeout_s, "Seconds per network step (default 3)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  return Command{
      cmd, [args] {
        if (args->timeout_s <= 0) {
          print_error("doctor: --timeout must be positive");
          return 2;
        }
        diag::DoctorReport report;
        report.file = args->file;
        auto config = config::load_config(args->file);
        core::Result<void> valid;
        if (!config) {
          valid = std::unexpected(config.error());
        } else {
          valid = net::validate_for_serving(*config);
        }
        report.checked.push_back("check-config");
        if (!valid) {
          report.findings.push_back({"config.invalid", diag::Severity::Error, valid.error().where,
                                     valid.error().message,
                                     "fix the configuration (`portcullis "
                                     "check-config -c FILE` says the same)"});
        } else {
          // The internal-target warnings come from run_doctor as `proxy.internal_target`.
          for (const auto& w : diag::startup_warnings(*config, false))
            report.findings.push_back({"config.warning", diag::Severity::Warning, "", w, ""});
        }
        if (config) {
          diag::DoctorOptions options;
          options.user = args->user;
          options.timeout =
              std::chrono::milliseconds(static_cast<long long>(args->timeout_s * 1000));
          diag::run_doctor(*config, options, report);
        }
        if (args->json) {
          std::cout << diag::doctor_json(report).dump(2) << "\n";
        } else {
          std::cout << diag::doctor_text(report);
        }
        return report.has_errors() ? 1 : 0;
      }};
}

}  // namespace portcullis::cli

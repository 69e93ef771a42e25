// `portcullis probe URL [--cert C --key K] [--ca FILE] [--user U --password-file F |
// --bearer-file F] [--proxy URL|none] [--method M] [--timeout S] [--json]` (diag/probe.h).
// Exit 0 final status 2xx/3xx, 1 otherwise, 2 usage.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "diag/probe.h"

namespace portcullis::cli {
namespace {

struct ProbeArgs {
  diag::ProbeOptions options;
  std::string password_file, bearer_file;
  double timeout_s = 5;
  bool json = false;
};

/// The first line of `file` (without its line break), or nullopt.
std::optional<std::string> first_line(const std::string& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

/// Reads the first line of `file` into `out` when a file was given; false (reported) when it
/// cannot be read.
bool read_secret(const std::string& file, const char* option, std::string& out) {
  if (file.empty()) return true;
  const auto line = first_line(file);
  if (!line) {
    print_error(std::string("probe: cannot read ") + option + " " + file);
    return false;
  }
  out = *line;
  return true;
}

}  // namespace

Command add_probe_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "probe", "Walk a request to URL step by step and explain the first step that fails");
  cmd->footer(
      "Steps: URL, proxy selection, name resolution, TCP connect, TLS (chain, client "
      "certificate request, alerts), HTTP (status, authentication schemes, Date, redirects, error "
      "pages). Exit status: 0 final status 2xx/3xx, 1 otherwise, 2 usage");
  auto args = std::make_shared<ProbeArgs>();
  auto& o = args->options;
  cmd->add_option("URL", o.url, "http:// or https:// URL")->required();
  cmd->add_option("--cert", o.cert, "Client certificate (PEM, leaf first, then intermediates)");
  cmd->add_option("--key", o.key, "Client private key (PEM; default: in --cert)");
  cmd->add_option("--ca", o.ca, "CA file to verify the server with (default: the system store)");
  cmd->add_option("--user", o.user, "User for HTTP Basic");
  cmd->add_option("--password-file", args->password_file,
                  "File whose first line is the Basic password");
  cmd->add_option("--bearer-file", args->bearer_file, "File whose first line is a bearer token");
  cmd->add_option("--proxy", o.proxy,
                  "http://[user:password@]host:port, or 'none' (default: HTTPS_PROXY / "
                  "http_proxy / NO_PROXY from the environment, like curl)");
  cmd->add_option("--method", o.method, "HTTP method (default GET)");
  cmd->add_option("--timeout", args->timeout_s, "Seconds per step (default 5)");
  cmd->add_flag("--json", args->json, "Report as JSON");
  return Command{
      cmd, [args] {
        auto& opts = args->options;
        if (!read_secret(args->password_file, "--password-file", opts.password) ||
            !read_secret(args->bearer_file, "--bearer-file", opts.bearer))
          return 2;
        if (!opts.user.empty() && !opts.bearer.empty()) {
          print_error("probe: --user and --bearer-file exclude each other");
          return 2;
        }
        if (opts.user.empty() != args->password_file.empty()) {
          print_error("probe: --user and --password-file go together");
          return 2;
        }
        if (args->timeout_s <= 0) {
          print_error("probe: --timeout must be positive");
          return 2;
        }
        opts.timeout = std::chrono::milliseconds(static_cast<long long>(args->timeout_s * 1000));
        const auto report = diag::run_probe(opts);
        if (args->json) {
          std::cout << diag::probe_json(report).dump(2) << "\n";
        } else {
          std::cout << diag::probe_text(report);
        }
        // A malformed URL or --proxy is a usage error.
        if (!report.steps.empty() && report.steps.back().status == diag::StepStatus::Fail &&
            (report.steps.back().name == "url" ||
             (report.steps.back().name == "proxy" && report.steps.size() == 2)))
          return 2;
        return report.exit_code();
      }};
}

}  // namespace portcullis::cli

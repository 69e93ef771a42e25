// Subcommand registration: each command adds itself to the CLI11 app and returns the action to
// run when it was selected. Exit codes: 0 ok, 1 finding, 2 usage or start-up error.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace portcullis::cli {

using Action = std::function<int()>;

/// A registered subcommand and what to do when it is selected.
struct Command {
  CLI::App* app;
  Action action;
};

Command add_run_command(CLI::App& app);
Command add_check_config_command(CLI::App& app);
Command add_echo_command(CLI::App& app);
Command add_demo_command(CLI::App& app);
Command add_denials_command(CLI::App& app);
Command add_check_bundle_command(CLI::App& app);
Command add_verify_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_explain_command(CLI::App& app);
Command add_probe_command(CLI::App& app);
Command add_doctor_command(CLI::App& app);

/// Prints "portcullis: <message>" to stderr.
void print_error(const std::string& message);

/// A file tool that could not start (bad option, unreadable file): with --json, also a JSON
/// document {"file", "ok": false, "error"} on stdout; the message on stderr. Returns 2.
int file_usage_error(const std::string& file, bool json, const std::string& message);

}  // namespace portcullis::cli

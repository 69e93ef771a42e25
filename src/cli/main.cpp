// portcullis: the gateway and its tools. Dispatches to the subcommands in cmd_*.cpp.
#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <iostream>
#include <vector>

#include "cli/commands.h"

namespace portcullis::cli {

void print_error(const std::string& message) {
  std::cerr << "portcullis: " << message << "\n";
}

int file_usage_error(const std::string& file, bool json, const std::string& message) {
  if (json) {
    std::cout << nlohmann::ordered_json{{"file", file}, {"ok", false}, {"error", message}}.dump(2)
              << "\n";
  }
  print_error(message);
  return 2;
}

}  // namespace portcullis::cli

namespace {
#ifdef PORTCULLIS_ALLOCATOR
constexpr const char* kAllocator = PORTCULLIS_ALLOCATOR;  // src/cli/CMakeLists.txt
#else
constexpr const char* kAllocator = "system";
#endif
}  // namespace

int main(int argc, char** argv) {
  using namespace portcullis::cli;
  // Writes to a closed stdout pipe (access log) must be an error value, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "Portcullis: an authenticating TLS access gateway whose every denial explains itself"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and the TLS library it runs on");

  const std::vector<Command> commands{
      add_run_command(app),    add_check_config_command(app), add_echo_command(app),
      add_demo_command(app),   add_denials_command(app),      add_check_bundle_command(app),
      add_verify_command(app), add_inspect_command(app),      add_explain_command(app),
      add_probe_command(app),  add_doctor_command(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (version) {
    // AWS-LC's version string ("AWS-LC 5.5.0"), built into the binary (cmake/aws_lc.cmake).
    std::cout << "portcullis " << PORTCULLIS_VERSION
              << " (TLS: " << OpenSSL_version(OPENSSL_VERSION) << ", FIPS mode "
              << (FIPS_mode() == 1 ? "on" : "off") << "; malloc: " << kAllocator << ")\n";
    return 0;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.action();
  }
  std::cerr << app.help();
  return 2;
}

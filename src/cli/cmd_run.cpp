// `portcullis run -c FILE` and `portcullis check-config -c FILE [--json]`.
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "core/log.h"
#include "diag/startup_warnings.h"
#include "net/server.h"

namespace portcullis::cli {
namespace {

// The behaviour switches of each listener, as check-config reports them (defaults included, so
// what the gateway will do is visible without reading the documentation).
std::string_view underscores_word(const config::RequestNormalization& n) {
  return n.header_underscores == config::RequestNormalization::Underscores::Reject ? "reject"
                                                                                   : "drop";
}

std::string_view encoded_slash_word(const config::RequestNormalization& n) {
  return n.keep_encoded_slash ? "keep" : "reject";
}

std::string normalization_text(const config::RequestNormalization& n) {
  return "request_normalization: header_underscores " + std::string(underscores_word(n)) +
         ", encoded_slash " + std::string(encoded_slash_word(n));
}

nlohmann::json settings_json(const config::Config& config) {
  nlohmann::json listeners = nlohmann::json::object();
  for (const auto& l : config.listeners) {
    listeners[l.name] = {{"request_normalization",
                          {{"header_underscores", underscores_word(l.normalization)},
                           {"encoded_slash", encoded_slash_word(l.normalization)}}}};
  }
  return {{"fast_lane", config.fast_lane}, {"listeners", listeners}};
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run the gateway with a configuration file");
  auto file = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *file, "Configuration file (YAML)")->required();
  return Command{cmd, [file] {
                   auto config = config::load_config(*file);
                   if (!config) {
                     print_error(config.error().to_string());
                     return 2;
                   }
                   const auto warnings = diag::startup_warnings(*config);
                   auto server = net::Server::create(std::move(*config));
                   if (!server) {
                     print_error(server.error().to_string());
                     return 2;
                   }
                   for (const std::string& w : warnings) core::log(core::LogLevel::Warn, "{}", w);
                   return (*server)->run();
                 }};
}

Command add_check_config_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("check-config",
                                 "Validate a configuration file (same checks as run) and exit");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("-c,--config", *file, "Configuration file (YAML)")->required();
  cmd->add_flag("--json", *json, "Report as JSON");
  return Command{cmd, [file, json] {
                   auto config = config::load_config(*file);
                   core::Result<void> verdict;
                   if (!config) {
                     verdict = std::unexpected(config.error());
                   } else {
                     verdict = net::validate_for_serving(*config);
                   }
                   if (*json) {
                     nlohmann::json out{{"file", *file}, {"ok", verdict.has_value()}};
                     if (!verdict) {
                       out["error"] = {{"message", verdict.error().message},
                                       {"path", verdict.error().where},
                                       {"line", verdict.error().line},
                                       {"text", verdict.error().to_string()}};
                     } else {
                       std::size_t routes = 0;
                       for (const auto& l : config->listeners) routes += l.routes.size();
                       out["listeners"] = config->listeners.size();
                       out["routes"] = routes;
                       out["upstreams"] = config->upstreams.size();
                       out["warnings"] = diag::startup_warnings(*config);
                       out["settings"] = settings_json(*config);
                     }
                     std::cout << out.dump(2) << "\n";
                   } else if (!verdict) {
                     print_error(verdict.error().to_string());
                   } else {
                     std::size_t routes = 0;
                     for (const auto& l : config->listeners) routes += l.routes.size();
                     std::cout << *file << ": configuration OK (" << config->listeners.size()
                               << " listeners, " << routes << " routes, "
                               << config->upstreams.size() << " upstreams)\n";
                     std::cout << "  fast_lane: " << (config->fast_lane ? "true" : "false") << "\n";
                     for (const auto& l : config->listeners) {
                       std::cout << "  listener " << l.name << ": "
                                 << normalization_text(l.normalization) << "\n";
                     }
                     for (const std::string& w : diag::startup_warnings(*config)) {
                       std::cerr << "portcullis: warning: " << w << "\n";
                     }
                   }
                   return verdict ? 0 : 1;
                 }};
}

}  // namespace portcullis::cli

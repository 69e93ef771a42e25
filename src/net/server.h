// The gateway process: builds the runtime and TLS contexts from a Config, binds every listener in
// every worker, serves until SIGINT/SIGTERM, then drains gracefully.
#pragma once

#include <memory>

#include "config/config.h"
#include "core/result.h"

namespace portcullis::net {

class Server {
 public:
  /// Validates everything that needs more than the YAML (certificates, keys, binds). On error
  /// nothing is left listening. Errors name the YAML key and line.
  static core::Result<std::unique_ptr<Server>> create(config::Config config);
  ~Server();

  /// Serves until SIGINT/SIGTERM or request_stop(); then stops accepting, lets in-flight
  /// requests finish until shutdown_timeout, and returns the exit status (0).
  int run();
  /// Thread-safe: same as receiving SIGTERM.
  void request_stop();

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Builds the TLS contexts and the runtime without binding: the checks `check-config` shares
/// with `run`.
core::Result<void> validate_for_serving(const config::Config& config);

}  // namespace portcullis::net

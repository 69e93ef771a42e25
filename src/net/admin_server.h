// The admin listener: plain HTTP on its own thread, GET /healthz, GET /metrics and
// GET /denials/<request-id> (the recent-denials ring of the metrics registry).
#pragma once

#include <atomic>
#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "metrics/registry.h"

namespace portcullis::net {

class AdminServer {
 public:
  AdminServer(const config::Endpoint& listen, const metrics::Registry& metrics,
              const std::atomic<bool>& serving);
  ~AdminServer();
  /// Binds the listener. Errors name admin.listen.
  core::Result<void> open();
  /// Starts the admin thread.
  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portcullis::net

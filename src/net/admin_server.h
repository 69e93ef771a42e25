// The admin listener: plain HTTP on its own thread, GET /healthz, GET /metrics,
// GET /denials/<request-id> (the recent-denials ring of the metrics registry), plus the
// endpoints of added handlers (net/admin_handler.h).
#pragma once

#include <atomic>
#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "metrics/registry.h"
#include "net/admin_handler.h"

namespace portcullis::net {

class AdminServer {
 public:
  AdminServer(const config::Endpoint& listen, const metrics::Registry& metrics,
              const std::atomic<bool>& serving);
  ~AdminServer();
  /// Adds endpoints, asked in order before the built-in ones. Call before start().
  void add_handler(AdminHandler handler);
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

// How the pipeline obtains upstream connections: a per-worker pool in net/ implements it.
// Failures come back as denials (upstream.dns_failed, .connect_failed, .timeout, .tls_failed).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

#include "core/denial.h"
#include "proxy/transport.h"

namespace portcullis::proxy {

/// One connection to one upstream endpoint.
class UpstreamConnection {
 public:
  virtual ~UpstreamConnection() = default;
  virtual Transport& transport() = 0;
  /// "host:port" of the endpoint, for logs and denial details.
  virtual const std::string& endpoint() const = 0;
  /// True when the connection came from the idle pool (it may have been closed by the peer).
  virtual bool reused() const = 0;
  /// A plain-HTTP upstream reached through an outbound proxy: requests go in absolute form,
  /// "http://host:port" + target, with this Proxy-Authorization (may be empty).
  virtual const std::string* absolute_prefix() const { return nullptr; }
  virtual const std::string& proxy_authorization() const {
    static const std::string kNone;
    return kNone;
  }
  /// "proxy http://host:port" when the connection goes through an outbound proxy, else "".
  virtual const std::string& via_proxy() const {
    static const std::string kNone;
    return kNone;
  }
};

struct DialResult {
  std::unique_ptr<UpstreamConnection> connection;  ///< set on success
  core::Denial denial;                             ///< set on failure
  std::string endpoint;                            ///< the endpoint tried last
};

/// How acquire() may use the idle pool.
enum class Reuse {
  /// An idle connection, once a recv shows the upstream has neither closed it nor written
  /// anything to it. SECURITY: never without the check: bytes an upstream sent late on an idle
  /// connection would be read as the next client's response.
  Checked,
  Fresh,  ///< always a new connection
};

class UpstreamDialer {
 public:
  virtual ~UpstreamDialer() = default;
  /// A connection to upstream `index` (its position in the runtime's upstream table), from the
  /// idle pool as `reuse` allows; endpoints are chosen round robin and a failing endpoint is
  /// skipped for the next one until all were tried.
  virtual boost::asio::awaitable<DialResult> acquire(std::size_t index, Reuse reuse) = 0;
  /// Returns a connection after a complete exchange; `reusable` = keep it for the next request.
  virtual void release(std::unique_ptr<UpstreamConnection> connection, bool reusable) = 0;
};

}  // namespace portcullis::proxy

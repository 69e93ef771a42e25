// The fast lane: a second driver for the Exchange (proxy/exchange.h) that a worker may offer.
// It serves the common request of an idle keep-alive connection (no body, authenticators that
// answer at once, a plain upstream connection, a simple response) with its own event loop and
// no coroutine per operation, and gives the connection back to the coroutine pipeline for
// everything else. net/fast_lane.h implements it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <memory>

#include "proxy/transport.h"
#include "proxy/upstream_dialer.h"

namespace portcullis::proxy {

struct ConnectionContext;
class Exchange;

/// How the lane gives a connection back.
struct LaneReturn {
  enum class Kind {
    Request,   ///< the buffer holds (the start of) a request for the coroutine pipeline
    InFlight,  ///< `exchange` was forwarded on `upstream`: resume_after_send() finishes it
    Close,     ///< idle timeout, the client closed, draining, or a response ended the connection
  };
  Kind kind = Kind::Close;
  std::unique_ptr<Exchange> exchange;
  std::unique_ptr<UpstreamConnection> upstream;
  boost::beast::flat_buffer ubuf;  ///< what the upstream answered so far
  std::chrono::milliseconds time_left{0};
};

class FastLane {
 public:
  virtual ~FastLane() = default;
  /// At an idle moment with nothing buffered: whether the lane can take `client` now.
  virtual bool accepts(Transport& client) = 0;
  /// Whether the lane can carry requests to upstream `index` (runtime upstream table) at all.
  virtual bool serves_upstream(std::size_t index) const = 0;
  /// Serves the connection's requests until one needs the coroutine pipeline, or the connection
  /// ends. `first` = no request was served yet (header_timeout instead of idle_timeout).
  virtual boost::asio::awaitable<LaneReturn> serve(ConnectionContext& ctx, Transport& client,
                                                   boost::beast::flat_buffer& buf, bool first) = 0;
};

}  // namespace portcullis::proxy

// The worker's fast lane (proxy/fast_lane.h): idle keep-alive TLS connections with nothing
// buffered in the TLS library, and plain upstream connections, polled by one edge-triggered epoll
// set per worker that is registered once per connection, not per request. Each ready request
// runs the Exchange's synchronous steps over the connection's own SSL object (SSL_read and
// SSL_write on the non-blocking socket); its upstream head goes out at the end of the loop's
// turn; a simple response is relayed from the upstream's buffer. Anything else returns the
// connection to its coroutine (LaneReturn), which also owns it all along. `fast_lane: false` in
// the configuration turns it off.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "proxy/fast_lane.h"
#include "proxy/runtime.h"

namespace portcullis::net {

class UpstreamPool;

class FastLaneLoop final : public proxy::FastLane {
 public:
  /// Null when the kernel refuses an epoll set (the worker then serves without a lane).
  static std::unique_ptr<FastLaneLoop> create(boost::asio::io_context& io, UpstreamPool& pool);
  ~FastLaneLoop() override;
  FastLaneLoop(const FastLaneLoop&) = delete;
  FastLaneLoop& operator=(const FastLaneLoop&) = delete;

  bool accepts(proxy::Transport& client) override;
  bool serves_upstream(std::size_t index) const override;
  /// For the pool's acquire(): an idle connection of endpoint `ei` of `upstream` taken out of
  /// the lane (its descriptor), or -1.
  int lend(std::size_t upstream, std::size_t ei);
  boost::asio::awaitable<proxy::LaneReturn> serve(proxy::ConnectionContext& ctx,
                                                  proxy::Transport& client,
                                                  boost::beast::flat_buffer& buf,
                                                  bool first) override;
  /// Shutdown: idle connections go back to close, idle upstream connections close; exchanges
  /// in flight finish (their responses say Connection: close).
  void drain();

 private:
  struct Conn;
  struct Link;
  struct Watch;
  using Clock = std::chrono::steady_clock;

  FastLaneLoop(boost::asio::io_context& io, UpstreamPool& pool, int epoll_fd);
  void arm();
  /// One turn: rounds of epoll_wait while they find events, within the turn's budget. True when
  /// the budget ran out with events perhaps still waiting (the caller schedules another turn).
  bool run_ready();
  /// Another turn after the io_context's queued work, when the last one ran out of budget.
  void continue_later();
  void on_client(Conn& c, std::uint32_t events);
  void on_upstream(Link& l, std::uint32_t events);
  /// Reads the client's next request(s) and starts one when complete.
  void read_client(Conn& c);
  void start_request(Conn& c);
  void flush_sends();
  void send_head(Conn& c);
  void read_upstream(Conn& c);
  /// Sends `head` (first time) and what `ubuf` holds of the body; completes the exchange at
  /// its end.
  void relay(Conn& c, const std::string* head);
  void client_writable(Conn& c);
  void complete(Conn& c, bool client_ok, bool upstream_ok);
  /// Gives the connection back to its coroutine.
  void finish(Conn& c, proxy::LaneReturn::Kind kind);
  /// Takes the connection out of the lane (epoll set, list, its upstream connection) and gives
  /// its socket back to the reactor.
  void release(Conn& c);
  void hand_over_in_flight(Conn& c, std::chrono::milliseconds time_left);
  /// An idle plain connection to the endpoint of `upstream` the round robin is at, from the
  /// lane's own idle list or the pool's; null when there is none (the pipeline dials then).
  std::unique_ptr<Link> take_link(std::size_t upstream);
  /// The lane's idle connection to endpoint `ei` of `upstream`, out of the idle list; or null.
  std::unique_ptr<Link> take_idle(std::size_t upstream, std::size_t ei);
  void park_link(std::unique_ptr<Link> link);
  void close_link(std::unique_ptr<Link> link);
  /// Takes the connection out of the epoll set and gives up its descriptor (returned, open).
  int unwatch_link(std::unique_ptr<Link> link);
  /// Frees `link` after this turn (an event already fetched may still point at it).
  void bury(std::unique_ptr<Link> link);
  /// What is left of the connection's deadline.
  static std::chrono::milliseconds time_left(const Conn& c);
  /// The response_timeout of the connection's upstream.
  static std::chrono::milliseconds response_timeout(const Conn& c);
  bool watch(int fd, std::uint32_t events, Watch* tag, bool add);
  void set_deadline(Conn& c, std::chrono::milliseconds timeout);
  void schedule_sweep(Clock::time_point at);
  /// Deadlines: idle connections close, waits for a response go back to report the timeout.
  void sweep();
  void expire(Conn& c);

  boost::asio::io_context& io_;
  UpstreamPool& pool_;
  int epoll_fd_;
  boost::asio::posix::stream_descriptor watcher_;
  boost::asio::steady_timer sweeper_;
  Clock::time_point sweep_at_ = Clock::time_point::max();
  std::list<Conn*> conns_;
  std::vector<std::vector<std::unique_ptr<Link>>> idle_;  ///< per upstream, all endpoints
  std::vector<Conn*> to_send_;  ///< upstream heads to send at the end of this turn
  std::vector<std::unique_ptr<Link>> graveyard_;  ///< closed this turn, freed at its end
  bool in_turn_ = false;
  bool continuation_posted_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace portcullis::net

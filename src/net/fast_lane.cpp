// FastLaneLoop: the per-worker epoll set, the connection state machine and the relay.
#include "net/fast_lane.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "core/log.h"
#include "net/transports.h"
#include "net/upstream_pool.h"
#include "proxy/exchange.h"

namespace portcullis::net {
namespace {

using proxy::kReadChunk;
using proxy::LaneReturn;
/// Client bytes buffered before the lane stops reading (pipelined requests wait their turn).
constexpr std::size_t kClientBufferCap = 64 * 1024;
constexpr int kEventsPerWait = 64;
/// Rounds of epoll_wait one turn runs while they keep finding events. Under load the next
/// requests are ready by the time a round is done: polling again is one syscall, where handing
/// back to the io_context costs its epoll_wait and an epoll_ctl to re-arm the watch. Bounded, in
/// rounds and in events, so the io_context's own work (accepts, handshake steps, timers, the
/// connections the lane handed back) waits at most one turn of ~256 events.
constexpr int kRoundsPerTurn = 16;
constexpr int kEventsPerTurn = 256;
constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP | EPOLLET;

error_code errno_code(int err) {
  return {err, boost::system::system_category()};
}

void log_failure(const std::exception& e) noexcept {
  try {
    core::log(core::LogLevel::Error, "fast lane: connection closed after an error: {}", e.what());
  } catch (...) {  // nothing left to report it with
  }
}

LaneReturn back_as(LaneReturn::Kind kind) {
  LaneReturn back;
  back.kind = kind;
  return back;
}

}  // namespace

/// What an epoll event points at: a client connection or an upstream connection.
struct FastLaneLoop::Watch {
  Conn* conn = nullptr;
  Link* link = nullptr;
};

/// A plain upstream connection the lane holds: idle (no owner) or carrying one exchange.
struct FastLaneLoop::Link {
  int fd = -1;
  std::size_t upstream = 0;
  std::size_t endpoint = 0;
  Conn* owner = nullptr;
  bool peer_closed = false;  ///< an event said the upstream closed (data may come first)
  Watch tag;
};

/// A client connection while the lane serves it. It lives in the frame of the coroutine that
/// handed it over (serve()), which waits on `wake` until finish() gives it back.
struct FastLaneLoop::Conn {
  enum class State {
    Idle,      ///< waiting for the next request
    Sending,   ///< decided; the upstream head goes out at the end of the turn
    Waiting,   ///< for the response head
    Relaying,  ///< the response body
  };
  explicit Conn(boost::asio::io_context& io) : wake(io) {}

  proxy::ConnectionContext* ctx = nullptr;
  TlsTransport* client = nullptr;
  beast::flat_buffer* buf = nullptr;
  int fd = -1;
  boost::asio::steady_timer wake;
  LaneReturn result;
  bool done = false;
  State state = State::Idle;
  bool client_pending = false;    ///< a readable edge came while busy: read when idle again
  bool upstream_pending = false;  ///< upstream bytes left unread while the client was full
  bool writing_blocked = false;   ///< `pending` waits for the client socket (EPOLLOUT)
  bool peer_closed = false;       ///< an event said the client closed (data may come first)
  std::size_t unconfirmed = 0;    ///< response bytes counted once `pending` is sent
  std::unique_ptr<proxy::Exchange> exchange;
  std::unique_ptr<Link> link;
  beast::flat_buffer ubuf;
  std::vector<std::uint8_t> pending;  ///< response bytes the TLS library has not taken yet
  std::uint64_t body_left = 0;
  Clock::time_point deadline = Clock::time_point::max();
  Watch tag;
  std::list<Conn*>::iterator self;
};

std::unique_ptr<FastLaneLoop> FastLaneLoop::create(boost::asio::io_context& io,
                                                   UpstreamPool& pool) {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    core::log(core::LogLevel::Warn, "no fast lane: epoll_create1 failed: {}",
              errno_code(errno).message());
    return nullptr;
  }
  return std::unique_ptr<FastLaneLoop>(new FastLaneLoop(io, pool, fd));
}

FastLaneLoop::FastLaneLoop(boost::asio::io_context& io, UpstreamPool& pool, int epoll_fd)
    : io_(io), pool_(pool), epoll_fd_(epoll_fd), watcher_(io, epoll_fd), sweeper_(io) {
  arm();
}

FastLaneLoop::~FastLaneLoop() {
  // The io_context is stopping: the suspended coroutines go with it, their sockets with us.
  pool_.set_idle_lender(nullptr);
  for (Conn* c : conns_) {
    ::close(c->fd);
    if (c->link) ::close(c->link->fd);
  }
  for (auto& per_upstream : idle_) {
    for (auto& link : per_upstream) ::close(link->fd);
  }
}

bool FastLaneLoop::accepts(proxy::Transport& client) {
  auto* tls = dynamic_cast<TlsTransport*>(&client);
  return tls != nullptr && tls->lane_ready();
}

boost::asio::awaitable<LaneReturn> FastLaneLoop::serve(proxy::ConnectionContext& ctx,
                                                       proxy::Transport& client,
                                                       beast::flat_buffer& buf, bool first) {
  Conn c(io_);
  c.ctx = &ctx;
  c.client = static_cast<TlsTransport*>(&client);
  c.buf = &buf;
  c.tag.conn = &c;
  c.fd = c.client->lane_detach();
  if (c.fd < 0) co_return back_as(LaneReturn::Kind::Request);  // still the reactor's
  const auto& limits = ctx.listener->config->limits;
  try {
    set_deadline(c, first ? limits.header_timeout : limits.idle_timeout);
    c.wake.expires_at(boost::asio::steady_timer::time_point::max());
  } catch (...) {
    c.client->lane_attach();
    throw;
  }
  // Bytes that arrived before this registration are reported by it.
  if (!watch(c.fd, kReadEvents, &c.tag, true)) {
    c.client->lane_attach();
    co_return back_as(LaneReturn::Kind::Request);  // the pipeline waits for it instead
  }
  c.self = conns_.insert(conns_.end(), &c);
  ctx.idle = true;
  buf.shrink_to_fit();  // an idle connection holds no read buffer
  error_code ec;
  try {
    co_await c.wake.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  } catch (...) {
    if (!c.done) release(c);  // never leave the lane pointing at this frame
    throw;
  }
  co_return std::move(c.result);
}

void FastLaneLoop::drain() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = **it++;  // finish() erases c from the list
    if (c.state == Conn::State::Idle) finish(c, LaneReturn::Kind::Close);
  }
  for (auto& per_upstream : idle_) {
    for (auto& link : per_upstream) close_link(std::move(link));
    per_upstream.clear();
  }
}

// ---- the loop ---------------------------------------------------------------------------------

void FastLaneLoop::arm() {
  watcher_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
                        if (alive.expired() || ec) return;
                        if (run_ready()) continue_later();
                        arm();
                      });
}

void FastLaneLoop::continue_later() {
  // Events left when a turn runs out of budget announce no new edge. Asio 1.74 happens to
  // re-arm the watch with EPOLL_CTL_MOD, which reports a descriptor already readable; the
  // posted turn does not depend on that, and runs after the work already queued.
  if (continuation_posted_) return;
  continuation_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    continuation_posted_ = false;
    if (run_ready()) continue_later();
  });
}

bool FastLaneLoop::run_ready() {
  in_turn_ = true;
  std::array<epoll_event, kEventsPerWait> events;
  int handled = 0;
  bool drained = false;  // a round found nothing: no event is left behind
  for (int round = 0; round < kRoundsPerTurn && handled < kEventsPerTurn; ++round) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), kEventsPerWait, 0);
    handled += std::max(n, 0);
    for (int i = 0; i < n; ++i) {
      auto* tag = static_cast<Watch*>(events[static_cast<std::size_t>(i)].data.ptr);
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      Conn* owner = tag->conn != nullptr ? tag->conn : tag->link->owner;
      try {
        if (tag->conn != nullptr) {
          on_client(*tag->conn, ev);
        } else {
          on_upstream(*tag->link, ev);
        }
      } catch (const std::exception& e) {
        log_failure(e);
        if (owner != nullptr && !owner->done) finish(*owner, LaneReturn::Kind::Close);
      }
    }
    if (n == kEventsPerWait) continue;  // more are waiting: this round is not over
    flush_sends();
    graveyard_.clear();  // no event of this round refers to them any more
    if (n == 0) {
      drained = true;
      break;
    }
  }
  flush_sends();
  in_turn_ = false;
  graveyard_.clear();
  return !drained;
}

bool FastLaneLoop::watch(int fd, std::uint32_t events, Watch* tag, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  return ::epoll_ctl(epoll_fd_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) == 0;
}

void FastLaneLoop::set_deadline(Conn& c, std::chrono::milliseconds timeout) {
  c.deadline = Clock::now() + timeout;
  if (c.deadline < sweep_at_) schedule_sweep(c.deadline);
}

void FastLaneLoop::schedule_sweep(Clock::time_point at) {
  sweep_at_ = at;
  sweeper_.expires_at(at);  // a pending wait ends with operation_aborted
  sweeper_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const error_code& ec) {
    if (alive.expired() || ec) return;
    sweep();
  });
}

void FastLaneLoop::sweep() {
  sweep_at_ = Clock::time_point::max();
  const auto now = Clock::now();
  Clock::time_point next = Clock::time_point::max();
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = **it++;  // finish() erases c from the list
    if (c.deadline > now) {
      next = std::min(next, c.deadline);
      continue;
    }
    try {
      expire(c);
    } catch (const std::exception& e) {
      log_failure(e);
      if (!c.done) finish(c, LaneReturn::Kind::Close);
    }
    if (!c.done) next = std::min(next, c.deadline);
  }
  // What finish() and complete() scheduled meanwhile (sweep_at_) may already be earlier.
  if (next < sweep_at_) schedule_sweep(next);
}

void FastLaneLoop::expire(Conn& c) {
  switch (c.state) {
    case Conn::State::Idle:  // idle_timeout (header_timeout before the first request)
    case Conn::State::Sending:
      finish(c, LaneReturn::Kind::Close);
      break;
    case Conn::State::Waiting:  // the coroutine reports upstream.timeout
      hand_over_in_flight(c, std::chrono::milliseconds(0));
      break;
    case Conn::State::Relaying:
      if (c.writing_blocked) {
        complete(c, false, c.body_left == 0);  // the client stopped reading
      } else {
        c.exchange->upstream_body_failed(true, error_code(beast::error::timeout).message());
        complete(c, true, false);
      }
      break;
  }
}

// ---- the client side --------------------------------------------------------------------------

void FastLaneLoop::on_client(Conn& c, std::uint32_t events) {
  if (c.done) return;
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) c.peer_closed = true;
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && c.writing_blocked) client_writable(c);
  if (c.done) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) read_client(c);
}

void FastLaneLoop::read_client(Conn& c) {
  if (c.state != Conn::State::Idle) {
    c.client_pending = true;  // edge-triggered: remember it for when the exchange is over
    return;
  }
  c.client_pending = false;
  beast::flat_buffer& buf = *c.buf;
  for (;;) {
    if (buf.size() >= kClientBufferCap) {
      c.client_pending = true;
      break;
    }
    error_code ec;
    const auto n = c.client->lane_read(buf.prepare(kReadChunk), ec);
    if (!n) break;  // nothing more for now
    if (ec || *n == 0) {
      // The client closed (or its records failed): a request it sent before is still served
      // by the coroutine, which then sees the close itself.
      finish(c, buf.size() > 0 ? LaneReturn::Kind::Request : LaneReturn::Kind::Close);
      return;
    }
    buf.commit(*n);
    const std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
    if (data.find("\r\n\r\n") != std::string_view::npos) {
      // A whole head: serve it. Bytes still unread (or a close) bring no new edge: read them
      // afterwards.
      c.client_pending = c.client->lane_more_input() || c.peer_closed;
      break;
    }
  }
  if (buf.size() > 0) start_request(c);
}

void FastLaneLoop::start_request(Conn& c) {
  c.ctx->idle = false;
  auto exchange = std::make_unique<proxy::Exchange>(*c.ctx, *c.client, *c.buf);
  if (!exchange->decide_now()) {
    finish(c, LaneReturn::Kind::Request);
    return;
  }
  c.link = take_link(exchange->upstream_index());
  if (!c.link) {
    finish(c, LaneReturn::Kind::Request);  // the coroutine dials
    return;
  }
  c.link->owner = &c;
  c.exchange = std::move(exchange);
  c.state = Conn::State::Sending;
  to_send_.push_back(&c);
  if (!in_turn_) flush_sends();  // started from a timer, not from the loop's turn
}

void FastLaneLoop::client_writable(Conn& c) {
  if (!c.pending.empty()) {
    error_code ec;
    if (!c.client->lane_write({}, c.pending, ec)) {
      complete(c, false, c.body_left == 0);
      return;
    }
    if (!c.pending.empty()) return;  // the socket filled up again: wait for the next edge
  }
  c.writing_blocked = false;
  c.exchange->count_out(c.unconfirmed);
  c.unconfirmed = 0;
  watch(c.fd, kReadEvents, &c.tag, false);
  if (c.body_left == 0) {
    complete(c, true, true);
    return;
  }
  set_deadline(c, response_timeout(c));
  if (c.upstream_pending) read_upstream(c);
}

// ---- the upstream side ------------------------------------------------------------------------

void FastLaneLoop::flush_sends() {
  // A send can complete an exchange at once and start a pipelined request: until none is left.
  while (!to_send_.empty()) {
    std::vector<Conn*> batch;
    batch.swap(to_send_);
    for (Conn* c : batch) {
      if (c->done || c->state != Conn::State::Sending) continue;
      try {
        send_head(*c);
      } catch (const std::exception& e) {
        log_failure(e);
        if (!c->done) finish(*c, LaneReturn::Kind::Close);
      }
    }
  }
}

void FastLaneLoop::send_head(Conn& c) {
  const std::string& head = c.exchange->upstream_head();
  const ssize_t n = ::send(c.link->fd, head.data(), head.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n == static_cast<ssize_t>(head.size())) {
    c.exchange->forwarded(pool_.endpoint_label(c.link->upstream, c.link->endpoint));
    c.state = Conn::State::Waiting;
    set_deadline(c, response_timeout(c));
    if (c.upstream_pending) read_upstream(c);
    return;
  }
  // The upstream closed this idle connection (or cannot take a head): nothing of the request
  // was consumed or counted, so the coroutine serves it again on a connection it dials.
  close_link(std::move(c.link));
  c.exchange.reset();
  c.state = Conn::State::Idle;
  finish(c, LaneReturn::Kind::Request);
}

void FastLaneLoop::on_upstream(Link& l, std::uint32_t events) {
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) l.peer_closed = true;
  if (l.owner == nullptr) {
    // Idle: the upstream closed it or sent something unasked, unless the edge is stale.
    char byte;
    const ssize_t n = ::recv(l.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    auto& idle = idle_[l.upstream];
    const auto it = std::find_if(idle.begin(), idle.end(),
                                 [&](const std::unique_ptr<Link>& p) { return p.get() == &l; });
    if (it == idle.end()) return;
    auto link = std::move(*it);
    idle.erase(it);
    close_link(std::move(link));
    return;
  }
  Conn& c = *l.owner;
  if (c.done) return;
  if (c.state == Conn::State::Waiting || c.state == Conn::State::Relaying) {
    read_upstream(c);
  } else {
    c.upstream_pending = true;
  }
}

void FastLaneLoop::read_upstream(Conn& c) {
  if (c.writing_blocked) {
    c.upstream_pending = true;  // the client is full: read once it has taken the rest
    return;
  }
  c.upstream_pending = false;
  for (;;) {
    const auto space = c.ubuf.prepare(kReadChunk);
    const ssize_t n = ::recv(c.link->fd, space.data(), space.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      const error_code ec = n == 0 ? error_code(boost::asio::error::eof) : errno_code(errno);
      if (c.state == Conn::State::Waiting) {
        // Closed before a whole head: the coroutine reports it (or resends on a fresh one).
        hand_over_in_flight(c, time_left(c));
      } else {
        c.exchange->upstream_body_failed(false, ec.message());
        complete(c, true, false);
      }
      return;
    }
    c.ubuf.commit(static_cast<std::size_t>(n));
    // A short read emptied the socket: the next bytes bring a new edge, unless the upstream
    // closed after these (that edge has come already: read on to the end of stream).
    const bool drained = static_cast<std::size_t>(n) < space.size() && !c.link->peer_closed;
    if (c.state == Conn::State::Waiting) {
      std::string head;
      std::uint64_t body_length = 0;
      switch (c.exchange->response_now(c.ubuf, head, body_length)) {
        case proxy::Exchange::Answer::NeedMore:
          if (drained) return;
          continue;
        case proxy::Exchange::Answer::Handover: {
          hand_over_in_flight(c, time_left(c));
          return;
        }
        case proxy::Exchange::Answer::Relay:
          c.state = Conn::State::Relaying;
          c.body_left = body_length;
          relay(c, &head);
          break;
      }
    } else {
      relay(c, nullptr);
    }
    if (c.done || c.state != Conn::State::Relaying) return;
    if (c.writing_blocked) {
      c.upstream_pending = true;
      return;
    }
    if (drained) return;
  }
}

void FastLaneLoop::relay(Conn& c, const std::string* head) {
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(c.ubuf.size(), c.body_left));
  std::array<boost::asio::const_buffer, 2> bufs;
  std::size_t count = 0;
  if (head != nullptr) bufs[count++] = boost::asio::buffer(*head);
  if (take > 0) bufs[count++] = boost::asio::buffer(c.ubuf.data().data(), take);
  if (count > 0) {
    error_code ec;
    if (!c.client->lane_write(std::span(bufs.data(), count), c.pending, ec)) {
      c.ubuf.consume(take);
      c.body_left -= take;
      complete(c, false, false);
      return;
    }
    c.unconfirmed += (head != nullptr ? head->size() : 0) + take;
  }
  c.ubuf.consume(take);
  c.body_left -= take;
  if (c.pending.empty()) {
    c.exchange->count_out(c.unconfirmed);
    c.unconfirmed = 0;
  } else {
    c.writing_blocked = true;
    watch(c.fd, kReadEvents | EPOLLOUT, &c.tag, false);
    set_deadline(c, c.ctx->listener->config->limits.body_timeout);
    return;
  }
  if (c.body_left == 0) {
    complete(c, true, true);
    return;
  }
  set_deadline(c, response_timeout(c));
}

void FastLaneLoop::complete(Conn& c, bool client_ok, bool upstream_ok) {
  const bool body_done = upstream_ok && c.body_left == 0;
  if (c.exchange->upstream_reusable(body_done, c.ubuf.size())) {
    park_link(std::move(c.link));
  } else {
    close_link(std::move(c.link));
  }
  const proxy::Outcome outcome = c.exchange->relayed(client_ok, body_done);
  c.ctx->runtime->metrics->count_lane_request(true);
  c.exchange.reset();
  c.ubuf.clear();
  c.pending.clear();
  c.unconfirmed = 0;
  c.writing_blocked = false;
  c.state = Conn::State::Idle;
  if (outcome == proxy::Outcome::Close || *c.ctx->draining) {
    finish(c, LaneReturn::Kind::Close);
    return;
  }
  c.ctx->idle = true;
  set_deadline(c, c.ctx->listener->config->limits.idle_timeout);
  if (c.buf->size() == 0) c.buf->shrink_to_fit();  // an idle connection holds no read buffer
  if (c.client_pending) {
    read_client(c);
  } else if (c.buf->size() > 0) {
    start_request(c);  // a pipelined request
  }
}

// ---- giving connections back ------------------------------------------------------------------

void FastLaneLoop::finish(Conn& c, LaneReturn::Kind kind) {
  if (c.done) return;
  release(c);
  c.result.kind = kind;
  c.wake.cancel();  // resumes serve() in a later handler, never inside this one
}

void FastLaneLoop::release(Conn& c) {
  c.done = true;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  if (c.link) close_link(std::move(c.link));
  c.exchange.reset();
  c.client->lane_attach();
  conns_.erase(c.self);
  c.ctx->idle = false;
}

void FastLaneLoop::hand_over_in_flight(Conn& c, std::chrono::milliseconds time_left) {
  const std::size_t upstream = c.link->upstream;
  const std::size_t endpoint = c.link->endpoint;
  const int fd = unwatch_link(std::move(c.link));
  try {
    c.result.upstream = pool_.adopt(upstream, endpoint, fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  c.result.exchange = std::move(c.exchange);
  c.result.ubuf = std::move(c.ubuf);
  c.result.time_left = time_left;
  c.ctx->runtime->metrics->count_lane_request(false);
  finish(c, LaneReturn::Kind::InFlight);
}

bool FastLaneLoop::serves_upstream(std::size_t index) const {
  return pool_.lane_capable(index, pool_.peek_endpoint(index));
}

int FastLaneLoop::lend(std::size_t upstream, std::size_t ei) {
  auto link = take_idle(upstream, ei);
  return link ? unwatch_link(std::move(link)) : -1;
}

std::unique_ptr<FastLaneLoop::Link> FastLaneLoop::take_link(std::size_t upstream) {
  // The endpoint the round robin is at, and only that one: with no idle connection to it, the
  // pipeline's acquire() dials it, and the rotation stays the same with or without the lane.
  const std::size_t ei = pool_.peek_endpoint(upstream);
  if (!pool_.lane_capable(upstream, ei)) return nullptr;
  while (auto link = take_idle(upstream, ei)) {
    // The lane's watch sees a late byte only when its event is handled; an event fetched in
    // the same round may still be waiting, so the socket itself is asked too.
    if (link->peer_closed || !idle_connection_alive(link->fd)) {
      close_link(std::move(link));
      continue;
    }
    pool_.advance_endpoint(upstream);
    return link;
  }
  const int fd = pool_.take_idle_socket(upstream, ei);
  if (fd < 0) return nullptr;
  auto link = std::make_unique<Link>();
  link->fd = fd;
  link->upstream = upstream;
  link->endpoint = ei;
  link->tag.link = link.get();
  if (!watch(fd, kReadEvents, &link->tag, true)) {
    close_link(std::move(link));
    return nullptr;
  }
  pool_.advance_endpoint(upstream);
  return link;
}

void FastLaneLoop::park_link(std::unique_ptr<Link> link) {
  link->owner = nullptr;
  auto& idle = idle_[link->upstream];
  // max_idle counts the pool's idle connections to the endpoint and the lane's together.
  const auto same =
      static_cast<std::size_t>(std::count_if(
          idle.begin(), idle.end(), [&](const auto& p) { return p->endpoint == link->endpoint; })) +
      pool_.idle_count(link->upstream, link->endpoint);
  if (link->peer_closed || same >= static_cast<std::size_t>(pool_.max_idle(link->upstream))) {
    close_link(std::move(link));
    return;
  }
  idle.push_back(std::move(link));
}

void FastLaneLoop::close_link(std::unique_ptr<Link> link) {
  if (!link) return;
  if (link->fd >= 0) ::close(link->fd);  // leaves the epoll set with it
  link->fd = -1;
  bury(std::move(link));
}

int FastLaneLoop::unwatch_link(std::unique_ptr<Link> link) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, link->fd, nullptr);
  const int fd = std::exchange(link->fd, -1);
  bury(std::move(link));
  return fd;
}

void FastLaneLoop::bury(std::unique_ptr<Link> link) {
  link->owner = nullptr;
  // Freed after this turn: an event already fetched may still point at it.
  graveyard_.push_back(std::move(link));
  if (!in_turn_) graveyard_.clear();
}

std::unique_ptr<FastLaneLoop::Link> FastLaneLoop::take_idle(std::size_t upstream, std::size_t ei) {
  if (idle_.size() <= upstream) idle_.resize(upstream + 1);
  auto& idle = idle_[upstream];
  for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
    if ((*it)->endpoint != ei) continue;
    auto link = std::move(*it);
    idle.erase(std::next(it).base());
    return link;
  }
  return nullptr;
}

std::chrono::milliseconds FastLaneLoop::time_left(const Conn& c) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(c.deadline - Clock::now(), Clock::duration::zero()));
}

std::chrono::milliseconds FastLaneLoop::response_timeout(const Conn& c) {
  return c.ctx->runtime->upstreams[c.link->upstream]->response_timeout;
}

}  // namespace portcullis::net

// The request pipeline coroutine: waits for each request of a connection and runs one Exchange
// per request (proxy/exchange.h), or lets the worker's fast lane serve what it can.
#include "proxy/pipeline.h"

#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/exchange.h"

namespace portcullis::proxy {
namespace {

/// Waits for the first byte of the next request. False when the connection should close
/// quietly (idle timeout, client closed, draining).
awaitable<bool> await_next_request(ConnectionContext& ctx, Transport& client,
                                   boost::beast::flat_buffer& buf, bool first) {
  if (buf.size() > 0) co_return true;
  if (*ctx.draining) co_return false;
  const auto& limits = ctx.listener->config->limits;
  client.expires_after(first ? limits.header_timeout : limits.idle_timeout);
  ctx.idle = true;
  // An idle connection holds no read buffer: wait for the socket first, then allocate.
  buf.shrink_to_fit();
  error_code ec;
  co_await client.wait_readable(ec);
  if (ec) {
    ctx.idle = false;
    co_return false;
  }
  const auto n = co_await client.read_some(buf.prepare(kReadChunk), ec);
  ctx.idle = false;
  buf.commit(n);
  co_return !ec && n > 0;
}

}  // namespace

awaitable<void> serve_connection(ConnectionContext& ctx, Transport& client) {
  boost::beast::flat_buffer buf;
  for (bool first = true;; first = false) {
    // The fast lane serves what it can of the next requests and gives back the rest.
    if (ctx.lane != nullptr && buf.size() == 0 && !*ctx.draining && ctx.lane->accepts(client)) {
      LaneReturn back = co_await ctx.lane->serve(ctx, client, buf, first);
      if (back.kind == LaneReturn::Kind::Close) break;
      if (back.kind == LaneReturn::Kind::InFlight) {
        const Outcome outcome = co_await back.exchange->resume_after_send(
            std::move(back.upstream), std::move(back.ubuf), back.time_left);
        back.exchange.reset();
        if (outcome == Outcome::Close) break;
        continue;
      }
      // Request: the buffer holds one (or is empty when the lane could not take the socket).
    }
    if (!co_await await_next_request(ctx, client, buf, first)) break;
    // On the heap only while a request is in flight, so an idle connection's coroutine frame
    // does not keep room for one (parser, access record, identity: about 2 KB).
    auto exchange = std::make_unique<Exchange>(ctx, client, buf);
    const Outcome outcome = co_await exchange->run();
    exchange.reset();
    if (outcome == Outcome::Close) break;
  }
  co_await client.shutdown();
}

}  // namespace portcullis::proxy

// One request/response exchange on a client connection, and the two ways it is driven:
// - run(): the coroutine pipeline, every stage of DESIGN.md with its waits (pipeline.cpp);
// - the synchronous steps below, which the worker's fast lane (proxy/fast_lane.h) drives with its
//   own socket I/O for the common case, handing the Exchange to resume_after_send() when the
//   response is anything but simple.
// Both drivers run the same stages in the same order; only who waits for the sockets differs.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/denial.h"
#include "core/identity.h"
#include "proxy/access_log.h"
#include "proxy/authn_stage.h"
#include "proxy/message_parser.h"
#include "proxy/pipeline.h"

namespace portcullis::proxy {

/// The most a read asks for: one TLS record at most per read anyway, and below glibc's 64 KiB
/// free-consolidation threshold, so the per-request buffers never trigger malloc_consolidate.
inline constexpr std::size_t kReadChunk = 16 * 1024;

/// What happened to a request; decides whether the connection can serve another one.
enum class Outcome { KeepAlive, Close };

class Exchange {
 public:
  Exchange(ConnectionContext& ctx, Transport& client, boost::beast::flat_buffer& buf);

  /// The coroutine driver: reads the head, runs every stage, forwards or denies, accounts.
  awaitable<Outcome> run();

  // ---- the fast lane's synchronous steps ------------------------------------------------------

  /// With a complete header block at the start of the buffer: parse, sanitize, route, authn,
  /// authz and the upstream head, without waiting and without consuming the buffer. True when
  /// the request goes upstream as it is: no body, a route whose authenticators answer at once,
  /// allowed; upstream_head() is ready then. False for anything else (a denial, a body, an
  /// authenticator that waits, a signing failure): this Exchange must be dropped and the
  /// coroutine pipeline serves the request from the same bytes (nothing was sent or counted).
  bool decide_now();
  /// The route's upstream (runtime index) and the head to send it, after decide_now().
  std::size_t upstream_index() const { return route_->upstream_index; }
  const std::string& upstream_head() const { return out_head_; }
  /// The head went to `endpoint` ("host:port") of the upstream: consumes it from the buffer.
  void forwarded(const std::string& endpoint);

  enum class Answer { NeedMore, Relay, Handover };
  /// The upstream's bytes so far (`ubuf`, consumed only on Relay). Relay: the response head is
  /// complete and simple (a final status, Content-Length framing or no body); `client_head` is
  /// the head to send the client and `body_length` the body bytes that follow in `ubuf` and on
  /// the upstream. NeedMore: the head is not complete yet. Handover: anything else; the caller
  /// hands the Exchange to resume_after_send() with `ubuf` as it is.
  Answer response_now(boost::beast::flat_buffer& ubuf, std::string& client_head,
                      std::uint64_t& body_length);
  /// Bytes written to the client (for the access log).
  void count_out(std::size_t n) { record_.bytes_out += n; }
  /// The upstream failed during the response body (timeout = the response_timeout passed).
  void upstream_body_failed(bool timeout, const std::string& what);
  /// The relay is over: `client_ok` = every byte reached the client, `upstream_ok` = the body
  /// was complete. Accounts the exchange and says whether the connection stays open.
  Outcome relayed(bool client_ok, bool upstream_ok);
  /// After Relay: whether the upstream connection may serve another request, given that
  /// `extra` bytes followed the body.
  bool upstream_reusable(bool upstream_ok, std::size_t extra) const;

  /// The coroutine driver again, for an exchange the fast lane forwarded: `upstream` carries the
  /// request already, `ubuf` holds what it answered so far, and `time_left` is what remains of
  /// its response_timeout.
  awaitable<Outcome> resume_after_send(std::unique_ptr<UpstreamConnection> upstream,
                                       boost::beast::flat_buffer ubuf,
                                       std::chrono::milliseconds time_left);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Step { Continue, Deny };
  enum class SendResult { Ok, Denied, UpstreamFailed };
  enum class ReadHeadResult { Ok, Retry, Denied };

  awaitable<Outcome> serve();
  awaitable<std::optional<std::size_t>> read_header_block();
  /// Parse, framing checks, sanitize, route. Deny: pending_denial_ and pending_close_ are set.
  Step parse_and_route(std::size_t header_len);
  void consume_head();
  /// The authn result, authz and the declared body size.
  Step authorize(AuthnResult authn);
  bool body_complete() const { return parser_.is_done(); }
  core::Denial body_too_large(std::uint64_t size) const;
  Step deny_later(core::Denial denial, bool close);

  /// The upstream head (out_head_), edited from the client's; a denial if it cannot be signed.
  std::optional<core::Denial> prepare_upstream_head();
  awaitable<Outcome> forward();
  /// The attempts: acquire, send, read the response head, relay; `sent` = attempt 0's request
  /// is already on upstream_.
  awaitable<Outcome> forward_from(bool sent);
  bool can_retry(int attempt) const;
  awaitable<SendResult> send_request(const std::string& out_head, BodyFraming framing);
  awaitable<ReadHeadResult> read_response_head(bool head_request);
  /// The head for the client and the framing of the relayed body, from response_.
  std::string plan_response(const RequestHead& request);
  awaitable<Outcome> relay_response(const RequestHead& request);
  core::Denial upstream_failure(core::DenialCode code, std::string what) const;

  awaitable<bool> write_client(std::span<const boost::asio::const_buffer> bufs);
  awaitable<Outcome> deny(core::Denial denial, bool close);
  void account();

  ConnectionContext& ctx_;
  Transport& client_;
  boost::beast::flat_buffer& buf_;
  const Runtime& rt_;
  const ListenerRuntime& listener_;
  const config::ListenerLimits& limits_;
  Clock::time_point start_;
  std::chrono::system_clock::time_point started_at_;  ///< the access log's and denials' ts
  AccessRecord record_;
  RequestParser parser_;
  std::size_t head_used_ = 0;  ///< header bytes the parser took, not yet consumed
  bool head_parsed_ = false;
  const RouteRuntime* route_ = nullptr;
  core::Identity identity_;
  core::Denial pending_denial_;
  bool pending_close_ = true;
  std::string out_head_;
  bool expect_continue_ = false;
  std::unique_ptr<UpstreamConnection> upstream_;
  std::string upstream_endpoint_;
  std::optional<ResponseParser> response_;  ///< in place: one per upstream response head
  boost::beast::flat_buffer ubuf_;
  std::optional<std::chrono::milliseconds> response_time_left_;
  BodyFraming out_framing_ = BodyFraming::None;
  bool no_body_ = false;
  bool keep_alive_ = false;
  bool request_body_streamed_ = false;
  std::string send_error_;
};

}  // namespace portcullis::proxy

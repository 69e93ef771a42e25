// The Exchange: the stages of one request (parse, sanitize, route, authn, authz, forward or deny,
// account), streaming bodies both ways through MessageParser with bounded buffers and turning
// every negative outcome into a catalogue Denial.
#include "proxy/exchange.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <array>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/request_id.h"
#include "explain/render.h"
#include "proxy/assertion_header.h"
#include "proxy/client_identity.h"
#include "proxy/denial_memory.h"
#include "proxy/exchange_io.h"
#include "proxy/header_rules.h"
#include "proxy/request_rules.h"

namespace portcullis::proxy {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using core::DenialCode;

/// The largest upstream response head the gateway reads.
constexpr std::uint32_t kResponseHeadLimit = 64 * 1024;

/// Why an upstream response head must not be relayed, or "": a status outside 100-599 or a
/// Transfer-Encoding other than exactly chunked (the same rule as for requests, so the client
/// and the gateway can never read the response's length differently).
std::string unusable_response(const ResponseParser& response) {
  const int status = response.head().status;
  if (status < 100 || status > 599) {
    return "status code " + std::to_string(status) + " is outside 100-599";
  }
  const auto& te = response.transfer_coding();
  using Kind = TransferCodingCheck::Kind;
  if (te.kind == Kind::Malformed || te.kind == Kind::Unsupported) return te.why;
  return {};
}

bool expects_continue(const HeaderList& headers) {
  const auto v = headers.get("expect");
  return v && core::ascii_iequals(*v, "100-continue");
}

}  // namespace

Exchange::Exchange(ConnectionContext& ctx, Transport& client, boost::beast::flat_buffer& buf)
    : ctx_(ctx),
      client_(client),
      buf_(buf),
      rt_(*ctx.runtime),
      listener_(*ctx.listener),
      limits_(listener_.config->limits) {
  start_ = Clock::now();
  started_at_ = std::chrono::system_clock::now();
  record_.request_id = core::new_request_id();
  record_.listener = listener_.config->name;
  // Fields only the access log shows: not copied for every request when there is none.
  if (rt_.access_log.enabled()) {
    record_.client_ip = ctx.peer_text;
    record_.tls_version = ctx.tls.version;
    if (ctx.client_cert) record_client_cert(record_, *ctx.client_cert);
  }
}

awaitable<Outcome> Exchange::run() {
  Outcome outcome = co_await serve();
  account();
  co_return outcome;
}

// ---- stages -----------------------------------------------------------------------------------

awaitable<Outcome> Exchange::serve() {
  const auto header_len = co_await read_header_block();
  if (!header_len) co_return Outcome::Close;
  if (*header_len == 0) co_return co_await deny(pending_denial_, true);
  const Step parsed = parse_and_route(*header_len);
  consume_head();
  if (parsed == Step::Deny) co_return co_await deny(std::move(pending_denial_), pending_close_);

  // authn: at once when every authenticator of the route can answer without waiting.
  auto authn = run_authn_stage_now(ctx_, *route_, parser_.head());
  if (!authn) authn = co_await run_authn_stage(ctx_, *route_, parser_.head());
  if (authorize(std::move(*authn)) == Step::Deny) {
    co_return co_await deny(std::move(pending_denial_), pending_close_);
  }
  co_return co_await forward();
}

Exchange::Step Exchange::deny_later(core::Denial denial, bool close) {
  pending_denial_ = std::move(denial);
  pending_close_ = close;
  return Step::Deny;
}

Exchange::Step Exchange::parse_and_route(std::size_t header_len) {
  const std::string_view block(static_cast<const char*>(buf_.data().data()), header_len);
  if (auto bad = check_raw_header_block(block); !bad.empty()) {
    return deny_later(core::make_denial(DenialCode::RequestMalformed, bad), true);
  }
  parser_.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  error_code ec;
  head_used_ = parser_.put(buf_.data(), ec);
  if (ec == http::error::header_limit) {
    return deny_later(core::make_denial(DenialCode::RequestHeaderTooLarge), true);
  }
  if (ec && ec != http::error::need_more) {
    return deny_later(core::make_denial(DenialCode::RequestMalformed, ec.message()), true);
  }
  if (!parser_.is_header_done()) {
    return deny_later(core::make_denial(DenialCode::RequestMalformed, "incomplete request header"),
                      true);
  }
  head_parsed_ = true;
  RequestHead& head = parser_.head();
  record_.method = head.method;
  record_.path = std::string(head.path());
  // Framing, header names, Host and the target, checked and normalised before anything reads
  // them: routing, authn, authz and the upstream all see the request decided on.
  if (auto refused =
          normalize_request(head, parser_.transfer_coding(), listener_.config->normalization)) {
    return deny_later(std::move(*refused), true);
  }
  record_.path = std::string(head.path());

  // sanitize
  listener_.stripper.strip(head.headers);

  // route
  const auto host = head.headers.get("host").value_or("");
  const int index = listener_.router.match(host, head.path());
  if (index < 0) {
    return deny_later(core::make_denial(DenialCode::RouteNotFound,
                                        "no route of listener \"" + listener_.config->name +
                                            "\" matches host \"" + std::string(host) +
                                            "\" and path \"" + record_.path + "\""),
                      !body_complete());
  }
  route_ = &listener_.routes[static_cast<std::size_t>(index)];
  record_.route = route_->config->name;
  return Step::Continue;
}

void Exchange::consume_head() {
  buf_.consume(head_used_);
  record_.bytes_in += head_used_;
  head_used_ = 0;
}

Exchange::Step Exchange::authorize(AuthnResult authn) {
  if (authn.denial) return deny_later(std::move(*authn.denial), !body_complete());
  identity_ = std::move(authn.identity);
  record_.auth_method = identity_.method;
  record_.user = identity_.user;

  const RequestHead& head = parser_.head();
  const auto decision =
      route_->policy.evaluate({identity_, ctx_.peer, head.method}, authz::Detail::DenialsOnly);
  if (!decision.allow) {
    return deny_later(
        core::make_denial(DenialCode::AuthzDenied, "route \"" + route_->config->name + "\": rule " +
                                                       decision.rule + ": " + decision.reason),
        !body_complete());
  }

  // body limit known up front
  if (head.framing == BodyFraming::ContentLength &&
      head.content_length > route_->config->max_body) {
    return deny_later(body_too_large(head.content_length), true);
  }
  if (parser_.body_bytes() > route_->config->max_body) {
    return deny_later(body_too_large(parser_.body_bytes()), true);
  }
  return Step::Continue;
}

/// Reads until the end of the header block is buffered. Returns its length; 0 when a denial
/// was prepared in pending_denial_; nullopt when the client went away (nothing to answer).
awaitable<std::optional<std::size_t>> Exchange::read_header_block() {
  client_.expires_after(limits_.header_timeout);
  std::size_t searched = 0;
  for (;;) {
    std::string_view data(static_cast<const char*>(buf_.data().data()), buf_.size());
    // RFC 9112 2.2: ignore empty lines before the request line.
    std::size_t lead = 0;
    while (lead + 1 < data.size() && data[lead] == '\r' && data[lead + 1] == '\n') lead += 2;
    if (lead > 0) {
      buf_.consume(lead);
      record_.bytes_in += lead;
      searched = 0;
      continue;
    }
    const auto end = data.find("\r\n\r\n", searched > 3 ? searched - 3 : 0);
    if (end != std::string_view::npos) co_return end + 4;
    searched = data.size();
    if (data.size() > limits_.max_header_bytes) {
      pending_denial_ = core::make_denial(
          DenialCode::RequestHeaderTooLarge,
          "request header exceeds " + std::to_string(limits_.max_header_bytes) + " bytes");
      co_return 0;
    }
    error_code ec;
    const auto n = co_await client_.read_some(buf_.prepare(kReadChunk), ec);
    buf_.commit(n);
    if (ec == boost::beast::error::timeout) {
      pending_denial_ = core::make_denial(
          DenialCode::RequestTimeout, "request header not complete after " +
                                          std::to_string(limits_.header_timeout.count()) + " ms");
      co_return 0;
    }
    if (ec) co_return std::nullopt;
  }
}

core::Denial Exchange::body_too_large(std::uint64_t size) const {
  return core::make_denial(DenialCode::RequestBodyTooLarge,
                           "body of " + std::to_string(size) + " bytes exceeds max_body " +
                               std::to_string(route_->config->max_body) + " of route \"" +
                               route_->config->name + "\"");
}

// ---- the fast lane's steps --------------------------------------------------------------------

bool Exchange::decide_now() {
  const std::string_view data(static_cast<const char*>(buf_.data().data()), buf_.size());
  // Leading empty lines and incomplete heads are the coroutine's (read_header_block).
  if (data.starts_with("\r\n")) return false;
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 > limits_.max_header_bytes) return false;
  if (parse_and_route(end + 4) == Step::Deny) return false;
  // Before authn and the head edits (an assertion is signed there): an upstream the lane
  // cannot reach goes to the pipeline anyway.
  if (ctx_.lane != nullptr && !ctx_.lane->serves_upstream(route_->upstream_index)) return false;
  const RequestHead& head = parser_.head();
  if (head.framing != BodyFraming::None || !body_complete() || expects_continue(head.headers)) {
    return false;
  }
  auto authn = run_authn_stage_now(ctx_, *route_, head);
  if (!authn || authorize(std::move(*authn)) == Step::Deny) return false;
  return !prepare_upstream_head().has_value();
}

void Exchange::forwarded(const std::string& endpoint) {
  consume_head();
  upstream_endpoint_ = endpoint;
  record_.upstream.assign(rt_.upstreams[route_->upstream_index]->name).append(" ").append(endpoint);
}

Exchange::Answer Exchange::response_now(boost::beast::flat_buffer& ubuf, std::string& client_head,
                                        std::uint64_t& body_length) {
  const RequestHead& request = parser_.head();
  // A fresh parser each time: bytes are consumed only once the answer is Relay, so a Handover
  // leaves them all for read_response_head.
  response_.emplace();
  response_->header_limit(kResponseHeadLimit);
  response_->eager(false);  // the head only: the lane relays the body bytes as they are
  if (request.method == "HEAD") response_->skip(true);
  error_code ec;
  const auto used = response_->put(ubuf.data(), ec);
  if (ec == http::error::need_more && ubuf.size() < kResponseHeadLimit) return Answer::NeedMore;
  if (ec || !response_->is_header_done()) return Answer::Handover;
  const ResponseHead& in = response_->head();
  // Interim responses, 101 and unusable heads are the pipeline's (read_response_head).
  if (in.status < 200 || !unusable_response(*response_).empty()) return Answer::Handover;
  const bool no_body = request.method == "HEAD" || in.status == 204 || in.status == 304;
  if (!no_body && in.framing != BodyFraming::ContentLength) return Answer::Handover;
  ubuf.consume(used);
  body_length = no_body ? 0 : in.content_length;
  client_head = plan_response(request);
  return Answer::Relay;
}

void Exchange::upstream_body_failed(bool timeout, const std::string& what) {
  record_.code = core::spec(timeout ? DenialCode::UpstreamTimeout : DenialCode::UpstreamReset).code;
  record_.detail = "upstream " + upstream_endpoint_ + " failed during the response body: " + what;
}

bool Exchange::upstream_reusable(bool upstream_ok, std::size_t extra) const {
  return upstream_ok && response_->keep_alive() && extra == 0;
}

Outcome Exchange::relayed(bool client_ok, bool upstream_ok) {
  if (!client_ok) record_.detail = "client went away during the response";
  account();
  return client_ok && upstream_ok && keep_alive_ ? Outcome::KeepAlive : Outcome::Close;
}

awaitable<Outcome> Exchange::resume_after_send(std::unique_ptr<UpstreamConnection> upstream,
                                               boost::beast::flat_buffer ubuf,
                                               std::chrono::milliseconds time_left) {
  upstream_ = std::move(upstream);
  ubuf_ = std::move(ubuf);
  response_time_left_ = time_left;
  const Outcome outcome = co_await forward_from(true);
  account();
  co_return outcome;
}

// ---- forward ------------------------------------------------------------------------------------

std::optional<core::Denial> Exchange::prepare_upstream_head() {
  RequestHead& head = parser_.head();
  // The upstream's head is the client's, edited in place rather than copied: what a later
  // denial reads from the request (Accept, the method, keep-alive) is never edited.
  expect_continue_ = expects_continue(head.headers);
  // Copied before the header list changes under the view.
  const std::string host(head.headers.get("host").value_or(""));
  head.headers.reserve(head.headers.fields().size() + 8);  // the gateway's own fields
  remove_hop_by_hop(head.headers);
  head.headers.remove("expect");
  add_forwarded_headers(head.headers, ctx_.peer_text, listener_.tls, host);
  head.headers.set("X-Request-Id", record_.request_id);
  add_identity_headers(head.headers, route_->config->identity_headers, identity_,
                       ctx_.client_cert.get());
  if (auto unsigned_ = add_assertion_header(head.headers, rt_, *route_, identity_,
                                            ctx_.client_cert.get(), record_.request_id)) {
    return unsigned_;
  }
  // SECURITY: a password or token the gateway consumed is not the upstream's business (Envoy's
  // jwt_authn does the same); identity travels in the identity headers instead.
  if (identity_.method == "basic" || identity_.method == "jwt")
    head.headers.remove("authorization");
  // What an external authorization service asserted (copy_headers; client copies were
  // stripped with the identity headers).
  for (const auto& [name, value] : identity_.upstream_headers) head.headers.add(name, value);
  out_head_ = serialize_request_head(head);
  return std::nullopt;
}

awaitable<Outcome> Exchange::forward() {
  record_.upstream = rt_.upstreams[route_->upstream_index]->name;
  if (auto unsigned_ = prepare_upstream_head()) {
    co_return co_await deny(std::move(*unsigned_), !body_complete());
  }
  co_return co_await forward_from(false);
}

awaitable<Outcome> Exchange::forward_from(bool sent) {
  RequestHead& head = parser_.head();
  const auto& up_config = *rt_.upstreams[route_->upstream_index];
  for (int attempt = 0;; ++attempt) {
    if (!sent) {
      if (upstream_) {
        upstream_->transport().close();
        ctx_.dialer->release(std::move(upstream_), false);
      }
      const Reuse reuse = attempt > 0 ? Reuse::Fresh : Reuse::Checked;
      auto dial = co_await ctx_.dialer->acquire(route_->upstream_index, reuse);
      if (!dial.connection) {
        record_.upstream.assign(up_config.name).append(" ").append(dial.endpoint);
        co_return co_await deny(std::move(dial.denial), !body_complete());
      }
      upstream_ = std::move(dial.connection);
      upstream_endpoint_ = upstream_->endpoint();
      record_.upstream.assign(up_config.name).append(" ").append(upstream_endpoint_);
      if (expect_continue_ && !body_complete() && attempt == 0) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        const std::array<asio::const_buffer, 1> bufs{asio::buffer(kContinue)};
        if (!co_await write_client(bufs)) co_return Outcome::Close;
      }
      std::string proxied_head;
      if (const std::string* prefix = upstream_->absolute_prefix()) {
        // A plain-HTTP upstream behind an outbound proxy: absolute form (RFC 9112 3.2.2).
        RequestHead via = head;
        via.target = *prefix + head.target;
        if (!upstream_->proxy_authorization().empty()) {
          via.headers.set("Proxy-Authorization", upstream_->proxy_authorization());
        }
        proxied_head = serialize_request_head(via);
      }
      const auto result =
          co_await send_request(proxied_head.empty() ? out_head_ : proxied_head, head.framing);
      if (result == SendResult::Denied) co_return Outcome::Close;
      if (result == SendResult::UpstreamFailed) {
        if (can_retry(attempt)) continue;
        co_return co_await deny(upstream_failure(DenialCode::UpstreamReset, send_error_),
                                !body_complete());
      }
    }
    sent = false;
    const auto got = co_await read_response_head(head.method == "HEAD");
    if (got == ReadHeadResult::Retry && can_retry(attempt)) continue;
    if (got != ReadHeadResult::Ok) co_return co_await deny(std::move(pending_denial_), true);
    co_return co_await relay_response(head);
  }
}

bool Exchange::can_retry(int attempt) const {
  return attempt == 0 && upstream_->reused() && !request_body_streamed_;
}

/// Writes the head and streams the request body to the upstream.
awaitable<Exchange::SendResult> Exchange::send_request(const std::string& out_head,
                                                       BodyFraming framing) {
  auto& up = upstream_->transport();
  up.expires_after(rt_.upstreams[route_->upstream_index]->response_timeout);
  std::string& piece = parser_.body_out();
  error_code ec;
  // First write: head plus whatever body arrived with it.
  {
    BodyFrame frame(framing, piece, body_complete());
    // Sent once this turn of the event loop has handled the other connections' ready events,
    // so the requests of one turn reach the upstream back to back: a sleeping upstream is
    // woken once for all of them, not once per request. On loopback and in VMs a cross-CPU
    // wake-up costs the sender more than the send itself (bench/README.md, keep-alive).
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_await up.write(frame.with_head(out_head), ec);
    if (!piece.empty()) request_body_streamed_ = true;
    piece.clear();
    if (ec) {
      send_error_ = ec.message();
      co_return SendResult::UpstreamFailed;
    }
  }
  // Read when the buffer is empty or holds only part of what the parser needs next.
  bool starved = buf_.size() == 0;
  while (!body_complete()) {
    request_body_streamed_ = true;
    if (starved) {
      client_.expires_after(limits_.body_timeout);
      const auto n = co_await client_.read_some(buf_.prepare(kReadChunk), ec);
      buf_.commit(n);
      if (ec) {
        upstream_->transport().close();
        if (ec == boost::beast::error::timeout) {
          co_await deny(core::make_denial(DenialCode::RequestTimeout,
                                          "request body stalled for " +
                                              std::to_string(limits_.body_timeout.count()) + " ms"),
                        true);
        } else {
          record_.code = "request.malformed";
          record_.stage = "parse";
          record_.status = 0;
          record_.detail = "client closed the connection during the request body";
        }
        co_return SendResult::Denied;
      }
    }
    const auto used = parser_.put(buf_.data(), ec);
    buf_.consume(used);
    record_.bytes_in += used;
    starved = ec == http::error::need_more || used == 0 || buf_.size() == 0;
    if (ec && ec != http::error::need_more) {
      upstream_->transport().close();
      co_await deny(core::make_denial(DenialCode::RequestMalformed, ec.message()), true);
      co_return SendResult::Denied;
    }
    if (parser_.body_bytes() > route_->config->max_body) {
      upstream_->transport().close();
      co_await deny(body_too_large(parser_.body_bytes()), true);
      co_return SendResult::Denied;
    }
    BodyFrame frame(framing, piece, body_complete());
    // The deadline bounds each write, not the whole upload: a large body may take long.
    up.expires_after(rt_.upstreams[route_->upstream_index]->response_timeout);
    co_await up.write(frame.buffers(), ec);
    piece.clear();
    if (ec) {
      send_error_ = ec.message();
      co_return SendResult::UpstreamFailed;
    }
  }
  co_return SendResult::Ok;
}

awaitable<Exchange::ReadHeadResult> Exchange::read_response_head(bool head_request) {
  auto& up = upstream_->transport();
  const auto& up_config = *rt_.upstreams[route_->upstream_index];
  // After the fast lane's wait, only what is left of the response_timeout.
  up.expires_after(response_time_left_.value_or(up_config.response_timeout));
  response_time_left_.reset();
  for (;;) {
    response_.emplace();
    response_->header_limit(kResponseHeadLimit);
    if (head_request) response_->skip(true);
    std::size_t received = ubuf_.size();
    bool starved = ubuf_.size() == 0;
    while (!response_->is_header_done()) {
      error_code ec;
      if (starved) {
        const auto n = co_await up.read_some(ubuf_.prepare(kReadChunk), ec);
        ubuf_.commit(n);
        received += n;
        if (ec == boost::beast::error::timeout) {
          pending_denial_ = upstream_failure(
              DenialCode::UpstreamTimeout,
              "no response within " + std::to_string(up_config.response_timeout.count()) + " ms");
          co_return ReadHeadResult::Denied;
        }
        if (ec) {
          pending_denial_ = upstream_failure(
              DenialCode::UpstreamReset,
              received == 0 ? "connection closed before any response (" + ec.message() + ")"
                            : "connection closed in the response header (" + ec.message() + ")");
          co_return received == 0 ? ReadHeadResult::Retry : ReadHeadResult::Denied;
        }
      }
      const auto used = response_->put(ubuf_.data(), ec);
      ubuf_.consume(used);
      starved = ec == http::error::need_more || used == 0 || ubuf_.size() == 0;
      if (ec == http::error::need_more) continue;
      if (ec) {
        pending_denial_ = upstream_failure(DenialCode::UpstreamProtocolError,
                                           "invalid response: " + ec.message());
        co_return ReadHeadResult::Denied;
      }
    }
    if (auto bad = unusable_response(*response_); !bad.empty()) {
      pending_denial_ =
          upstream_failure(DenialCode::UpstreamProtocolError, "invalid response: " + bad);
      co_return ReadHeadResult::Denied;
    }
    const int status = response_->head().status;
    if (status == 407 && !upstream_->via_proxy().empty()) {
      // The outbound proxy, not the upstream, refused: never relay its 407 to the client.
      const auto asks = response_->head().headers.get("proxy-authenticate");
      pending_denial_ = upstream_failure(
          DenialCode::UpstreamProxyAuthRequired,
          upstream_->via_proxy() + " answered 407 Proxy Authentication Required" +
              (asks ? " (it asks for: " + std::string(*asks) + ")" : std::string()));
      co_return ReadHeadResult::Denied;
    }
    if (status >= 100 && status < 200) {
      if (status == 101) {
        pending_denial_ = upstream_failure(DenialCode::UpstreamProtocolError,
                                           "unexpected 101 Switching Protocols");
        co_return ReadHeadResult::Denied;
      }
      continue;  // interim response: skip it and read the final one
    }
    co_return ReadHeadResult::Ok;
  }
}

std::string Exchange::plan_response(const RequestHead& request) {
  ResponseHead& in = response_->head();
  record_.upstream_status = in.status;
  ResponseHead out;
  out.status = in.status;
  out.reason = in.reason;
  out.headers = std::move(in.headers);  // nothing reads the upstream's fields after this
  remove_hop_by_hop(out.headers);
  if (!out.headers.get("x-request-id")) out.headers.add("X-Request-Id", record_.request_id);

  no_body_ = request.method == "HEAD" || in.status == 204 || in.status == 304;
  keep_alive_ = request.keep_alive && !*ctx_.draining && body_complete();
  if (no_body_) {
    // No body follows (RFC 9110 6.4.1). A 204 has no Content-Length either (RFC 9110 8.6); a
    // 304 or a HEAD answer may keep it, as it describes the representation, not this message.
    out.framing = in.framing == BodyFraming::ContentLength && in.status != 204
                      ? BodyFraming::ContentLength
                      : BodyFraming::None;
    out.content_length = in.content_length;
  } else if (in.framing == BodyFraming::ContentLength) {
    out.framing = BodyFraming::ContentLength;
    out.content_length = in.content_length;
  } else if (in.framing == BodyFraming::None) {
    out.framing = BodyFraming::ContentLength;
    out.content_length = 0;
  } else if (request.version >= 11) {
    out.framing = BodyFraming::Chunked;
  } else {
    out.framing = BodyFraming::UntilClose;
    keep_alive_ = false;
  }
  if (!keep_alive_) {
    out.headers.add("Connection", "close");
  } else if (request.version < 11) {
    out.headers.add("Connection", "keep-alive");
  }
  out_framing_ = out.framing;
  record_.status = out.status;
  record_.stage = "forward";
  return serialize_response_head(out);
}

awaitable<Outcome> Exchange::relay_response(const RequestHead& request) {
  const BodyFraming in_framing = response_->head().framing;
  const std::string head_text = plan_response(request);
  auto& up = upstream_->transport();
  const auto& up_config = *rt_.upstreams[route_->upstream_index];
  std::string& piece = response_->body_out();
  bool first = true;
  bool upstream_ok = true;
  bool starved = ubuf_.size() == 0;
  for (;;) {
    const bool done = response_->is_done();
    BodyFrame frame(no_body_ ? BodyFraming::None : out_framing_, piece, done);
    client_.expires_after(limits_.body_timeout);
    bool wrote = true;
    if (first) {
      wrote = co_await write_client(frame.with_head(head_text));
    } else if (!frame.buffers().empty()) {
      wrote = co_await write_client(frame.buffers());
    }
    first = false;
    piece.clear();
    if (!wrote) {
      upstream_->transport().close();
      record_.detail = "client went away during the response";
      co_return Outcome::Close;
    }
    if (done) break;
    error_code ec;
    if (starved) {
      up.expires_after(up_config.response_timeout);
      const auto n = co_await up.read_some(ubuf_.prepare(kReadChunk), ec);
      ubuf_.commit(n);
      if (ec == boost::asio::error::eof && in_framing == BodyFraming::UntilClose) {
        response_->put_eof(ec);
        if (!ec) continue;
      }
      if (ec) {
        upstream_ok = false;
        upstream_body_failed(ec == boost::beast::error::timeout, ec.message());
        break;
      }
    }
    const auto used = response_->put(ubuf_.data(), ec);
    ubuf_.consume(used);
    starved = ec == http::error::need_more || used == 0 || ubuf_.size() == 0;
    if (ec && ec != http::error::need_more) {
      upstream_ok = false;
      record_.code = core::spec(DenialCode::UpstreamProtocolError).code;
      record_.detail = "invalid response body from " + upstream_endpoint_ + ": " + ec.message();
      break;
    }
  }
  const bool reusable = response_->is_done() && upstream_reusable(upstream_ok, ubuf_.size()) &&
                        in_framing != BodyFraming::UntilClose;
  ctx_.dialer->release(std::move(upstream_), reusable);
  // A response cut short cannot be completed for the client: closing is the only signal left.
  co_return keep_alive_&& upstream_ok ? Outcome::KeepAlive : Outcome::Close;
}

core::Denial Exchange::upstream_failure(DenialCode code, std::string what) const {
  return core::make_denial(code, "upstream \"" + rt_.upstreams[route_->upstream_index]->name +
                                     "\" endpoint " + upstream_endpoint_ + ": " + std::move(what));
}

// ---- deny and account ---------------------------------------------------------------------------

awaitable<bool> Exchange::write_client(std::span<const asio::const_buffer> bufs) {
  error_code ec;
  std::size_t total = 0;
  for (const auto& b : bufs) total += b.size();
  co_await client_.write(bufs, ec);
  if (ec) co_return false;
  record_.bytes_out += total;
  co_return true;
}

awaitable<Outcome> Exchange::deny(core::Denial denial, bool close) {
  if (upstream_) {
    upstream_->transport().close();
    ctx_.dialer->release(std::move(upstream_), false);
  }
  const auto& row = core::spec(denial.code);
  const bool detailed = explain::detail_allowed(rt_.config.errors, ctx_.peer);
  const std::string_view accept =
      head_parsed_ ? parser_.head().headers.get("accept").value_or("") : std::string_view{};
  auto rendered =
      explain::render_denial(denial, record_.request_id, detailed, explain::negotiate(accept));
  close = close || *ctx_.draining || !head_parsed_ || !parser_.head().keep_alive;

  ResponseHead out;
  out.status = rendered.status;
  for (auto& [name, value] : rendered.headers) out.headers.add(std::move(name), std::move(value));
  out.headers.add("Content-Type", rendered.content_type);
  out.headers.add("Date", core::http_date(std::chrono::system_clock::now()));
  if (close) out.headers.add("Connection", "close");
  out.framing = BodyFraming::ContentLength;
  const bool head_request = head_parsed_ && parser_.head().method == "HEAD";
  out.content_length = rendered.body.size();
  const std::string head_text = serialize_response_head(out);

  record_.status = rendered.status;
  record_.code = std::string(row.code);
  record_.stage = std::string(core::stage_name(row.stage));
  record_.detail = std::move(denial.detail);
  rt_.metrics->count_denial(denial.code);

  client_.expires_after(limits_.body_timeout);
  // GCC 12 cannot keep a braced initializer list alive across co_await: use named arrays.
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head_text),
                                               asio::buffer(rendered.body)};
  const bool ok = co_await write_client(std::span(bufs.data(), head_request ? 1 : 2));
  co_return ok && !close ? Outcome::KeepAlive : Outcome::Close;
}

void Exchange::account() {
  const auto elapsed = Clock::now() - start_;
  record_.duration_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  auto* counters = route_ ? route_->counters : listener_.unrouted;
  rt_.metrics->count_request(counters, record_.status,
                             std::chrono::duration<double>(elapsed).count());
  // The timestamp is formatted only for a line to write or a denial to remember.
  const bool denied = record_.code != "ok";
  if (denied || rt_.access_log.enabled()) record_.ts = core::rfc3339(started_at_);
  if (denied) remember_denial(*rt_.metrics, record_);
  rt_.access_log.write(record_);
}

}  // namespace portcullis::proxy

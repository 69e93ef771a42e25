// The request pipeline against scripted transports (mocks are fine in unit tests): forwarding
// headers, stale keep-alive retry, 100-continue, re-framing for HTTP/1.0, denials and timeouts.
#include "proxy/pipeline.h"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/exchange.h"

namespace portcullis::proxy {
namespace {

namespace asio = boost::asio;

/// Replays `input` pieces, one per read; then eof (or a timeout when `hang`). Captures writes,
/// and notes reads and writes as "<name> read|write <first line>" in `log` when set.
class ScriptedTransport final : public Transport {
 public:
  std::deque<std::string> input;
  std::string output;
  bool hang = false;
  bool closed = false;
  std::vector<std::string>* log = nullptr;
  std::string name;

  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) override {
    ec = {};
    if (input.empty()) {
      ec = hang ? error_code(boost::beast::error::timeout) : error_code(asio::error::eof);
      co_return 0;
    }
    auto& front = input.front();
    note("read", front);
    const auto n = std::min(buf.size(), front.size());
    std::memcpy(buf.data(), front.data(), n);
    front.erase(0, n);
    if (front.empty()) input.pop_front();
    co_return n;
  }
  awaitable<void> write(std::span<const asio::const_buffer> bufs, error_code& ec) override {
    ec = closed ? error_code(asio::error::broken_pipe) : error_code{};
    const auto before = output.size();
    for (const auto& b : bufs) output.append(static_cast<const char*>(b.data()), b.size());
    note("write", std::string_view(output).substr(before));
    co_return;
  }
  void expires_after(std::chrono::milliseconds) override {}
  void expires_never() override {}
  awaitable<void> shutdown() override {
    closed = true;
    co_return;
  }
  void close() override { closed = true; }
  bool is_open() const override { return !closed; }

 private:
  void note(std::string_view what, std::string_view data) {
    if (log)
      log->push_back(name + " " + std::string(what) + " " +
                     std::string(data.substr(0, data.find("\r\n"))));
  }
};

class ScriptedConnection final : public UpstreamConnection {
 public:
  ScriptedConnection(bool reused, std::string response) : reused_(reused) {
    if (!response.empty()) transport_.input.push_back(std::move(response));
  }
  Transport& transport() override { return transport_; }
  const std::string& endpoint() const override { return endpoint_; }
  bool reused() const override { return reused_; }
  ScriptedTransport transport_;

 private:
  std::string endpoint_ = "127.0.0.1:9";
  bool reused_;
};

/// Hands out scripted connections in order and records what was sent on each.
class ScriptedDialer final : public UpstreamDialer {
 public:
  struct Planned {
    bool reused;
    std::string response;
  };
  std::deque<Planned> plan;
  std::vector<std::string> sent;
  std::vector<Reuse> reuses;
  int released_reusable = 0;
  std::vector<std::string>* log = nullptr;  ///< given to every upstream transport

  awaitable<DialResult> acquire(std::size_t, Reuse reuse) override {
    reuses.push_back(reuse);
    if (plan.empty()) {
      co_return DialResult{nullptr,
                           core::make_denial(core::DenialCode::UpstreamConnectFailed, "refused"),
                           "127.0.0.1:9"};
    }
    auto p = std::move(plan.front());
    plan.pop_front();
    auto conn = std::make_unique<ScriptedConnection>(p.reused, std::move(p.response));
    conn->transport_.log = log;
    conn->transport_.name = "upstream";
    live_.push_back(conn.get());
    co_return DialResult{std::move(conn), {}, "127.0.0.1:9"};
  }
  void release(std::unique_ptr<UpstreamConnection> c, bool reusable) override {
    sent.push_back(static_cast<ScriptedConnection*>(c.get())->transport_.output);
    if (reusable) ++released_reusable;
  }
  std::vector<ScriptedConnection*> live_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::Config cfg;
    cfg.log.access = config::AccessLogTarget::Off;
    config::UpstreamConfig up;
    up.name = "app";
    cfg.upstreams["app"] = up;
    config::ListenerConfig l;
    l.name = "main";
    config::RouteConfig r;
    r.name = "api";
    r.match.path_prefix = "/api/";
    r.upstream = "app";
    r.max_body = 100;
    l.routes.push_back(r);
    cfg.listeners.push_back(l);
    auto rt = build_runtime(std::move(cfg), metrics_);
    ASSERT_TRUE(rt) << rt.error().to_string();
    runtime_ = *rt;
  }

  /// Rebuilds the runtime with client_auth `mode` on the listener; route "api" lists `authn`.
  void use_client_auth(config::ClientAuthMode mode, std::vector<std::string> authn) {
    auto cfg = runtime_->config;
    cfg.listeners[0].tls.emplace();
    cfg.listeners[0].tls->client_auth.emplace();
    cfg.listeners[0].tls->client_auth->mode = mode;
    cfg.listeners[0].tls->client_auth->denial_status = 403;
    cfg.listeners[0].routes[0].authn = std::move(authn);
    cfg.listeners[0].routes[0].identity_headers.subject = "X-Client-Subject";
    auto rt = build_runtime(std::move(cfg), metrics_);
    ASSERT_TRUE(rt);
    runtime_ = *rt;
  }

  /// Adds routes[0].authz = {cert_subject: pattern} to the current runtime.
  void use_authz_subject(std::string pattern) {
    auto cfg = runtime_->config;
    config::AuthzRuleConfig rule;
    rule.kind = config::AuthzRuleConfig::Kind::CertSubject;
    rule.values = {std::move(pattern)};
    rule.origin = {"listeners[0].routes[0].authz.cert_subject", 12};
    cfg.listeners[0].routes[0].authz = rule;
    auto rt = build_runtime(std::move(cfg), metrics_);
    ASSERT_TRUE(rt);
    runtime_ = *rt;
  }

  /// The context of a client connection from 127.0.0.1 on the first listener.
  ConnectionContext context() {
    ConnectionContext ctx;
    ctx.runtime = runtime_;
    ctx.listener = &runtime_->listeners[0];
    ctx.peer = *core::IpAddress::parse("127.0.0.1");
    ctx.peer_text = "127.0.0.1";
    ctx.dialer = &dialer_;
    ctx.draining = &draining_;
    ctx.client_cert = client_cert_;
    return ctx;
  }

  /// Serves one client connection that sends `requests` (pieces) and returns what it received.
  std::string serve(std::vector<std::string> pieces, bool hang = false) {
    ScriptedTransport client;
    for (auto& p : pieces) client.input.push_back(std::move(p));
    client.hang = hang;
    auto ctx = context();
    asio::io_context io;
    asio::co_spawn(io, serve_connection(ctx, client), asio::detached);
    io.run();
    return client.output;
  }

  metrics::Registry metrics_;
  std::shared_ptr<const Runtime> runtime_;
  ScriptedDialer dialer_;
  bool draining_ = false;
  std::shared_ptr<const pki::Verdict> client_cert_;
};

pki::Verdict verdict(pki::Verdict::Outcome outcome, std::optional<core::DenialCode> code) {
  pki::Verdict v;
  v.outcome = outcome;
  v.code = code;
  v.reason = "certificate has expired";
  v.leaf.subject = "CN=alice";
  return v;
}

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST_F(PipelineTest, ForwardsWithForwardingHeadersAndRequestId) {
  dialer_.plan.push_back({false, kOk});
  const auto out =
      serve({"GET /api/x?q=1 HTTP/1.1\r\nHost: h\r\nX-Auth-User: mallory\r\n"
             "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\n"});
  ASSERT_EQ(dialer_.sent.size(), 1u);
  const auto& sent = dialer_.sent[0];
  EXPECT_TRUE(sent.starts_with("GET /api/x?q=1 HTTP/1.1\r\n")) << sent;
  EXPECT_NE(sent.find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
  EXPECT_NE(sent.find("X-Forwarded-Host: h\r\n"), std::string::npos);
  EXPECT_NE(sent.find("X-Request-Id: "), std::string::npos);
  EXPECT_EQ(sent.find("mallory"), std::string::npos);
  EXPECT_EQ(sent.find("X-Drop"), std::string::npos);
  EXPECT_EQ(sent.find("Connection"), std::string::npos);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_NE(out.find("X-Request-Id: "), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\nok"));
  EXPECT_EQ(dialer_.released_reusable, 1);
}

TEST_F(PipelineTest, RetriesOnceWhenAReusedConnectionWasClosed) {
  dialer_.plan.push_back({true, ""});  // stale: eof at once
  dialer_.plan.push_back({false, kOk});
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK")) << out;
  // The idle connection passed the check but was closed before the request: resent fresh.
  EXPECT_EQ(dialer_.reuses, (std::vector<Reuse>{Reuse::Checked, Reuse::Fresh}));
}

TEST_F(PipelineTest, EveryRequestUsesCheckedIdleConnections) {
  dialer_.plan.push_back({true, kOk});
  dialer_.plan.push_back({true, kOk});
  const auto out = serve({"POST /api/ HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
                          "DELETE /api/x HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK")) << out;
  EXPECT_EQ(dialer_.reuses, (std::vector<Reuse>{Reuse::Checked, Reuse::Checked}));
}

TEST_F(PipelineTest, FreshConnectionClosedIsUpstreamReset) {
  dialer_.plan.push_back({false, ""});
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 502 ")) << out;
  EXPECT_NE(out.find("X-Denial-Code: upstream.reset"), std::string::npos);
  EXPECT_EQ(dialer_.reuses.size(), 1u);
}

TEST_F(PipelineTest, AnswersExpectContinueItselfAndStripsExpect) {
  dialer_.plan.push_back({false, kOk});
  const auto out =
      serve({"POST /api/ HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
             "Content-Length: 3\r\n\r\n",
             "abc"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")) << out;
  ASSERT_EQ(dialer_.sent.size(), 1u);
  EXPECT_EQ(dialer_.sent[0].find("Expect"), std::string::npos);
  EXPECT_TRUE(dialer_.sent[0].ends_with("Content-Length: 3\r\n\r\nabc")) << dialer_.sent[0];
}

TEST_F(PipelineTest, ReframesChunkedResponseForHttp10Client) {
  dialer_.plan.push_back(
      {false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"});
  const auto out = serve({"GET /api/ HTTP/1.0\r\nHost: h\r\n\r\n"});
  EXPECT_EQ(out.find("chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\nabc")) << out;
}

TEST_F(PipelineTest, ChunkedRequestBodyOverLimitIs413) {
  dialer_.plan.push_back({false, kOk});
  const auto out = serve({"POST /api/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "64\r\n" + std::string(100, 'a') + "\r\n", "1\r\nb\r\n0\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 413 ")) << out;
  EXPECT_NE(out.find("request.body_too_large"), std::string::npos);
}

TEST_F(PipelineTest, ObsFoldIsMalformedAndCloses) {
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 ")) << out;
  EXPECT_NE(out.find("X-Denial-Code: request.malformed"), std::string::npos);
  EXPECT_NE(out.find("obsolete line folding"), std::string::npos);  // detailed: loopback peer
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(dialer_.sent.empty());
}

TEST_F(PipelineTest, IncompleteHeaderTimesOutWith408) {
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost:"}, /*hang=*/true);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 408 ")) << out;
  EXPECT_NE(out.find("request.timeout"), std::string::npos);
}

TEST_F(PipelineTest, IdleConnectionWithoutBytesClosesSilently) {
  EXPECT_EQ(serve({}, /*hang=*/true), "");
}

TEST_F(PipelineTest, KeepAliveServesPipelinedRequests) {
  dialer_.plan.push_back({false, kOk});
  dialer_.plan.push_back({false, kOk});
  const auto out =
      serve({"GET /api/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /api/2 HTTP/1.1\r\nHost: h\r\n\r\n"});
  std::size_t count = 0;
  for (auto p = out.find("HTTP/1.1 200"); p != std::string::npos;
       p = out.find("HTTP/1.1 200", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << out;
}

TEST_F(PipelineTest, RequestsReadyInOneTurnReachTheUpstreamBackToBack) {
  // Two connections whose requests are ready in the same turn of the event loop: both are read
  // before either is sent upstream (the sends wait for the end of the turn), so a sleeping
  // upstream is woken once for the two.
  std::vector<std::string> log;
  dialer_.log = &log;
  dialer_.plan.push_back({false, kOk});
  dialer_.plan.push_back({false, kOk});
  ScriptedTransport a;
  ScriptedTransport b;
  for (auto [t, name] : {std::pair<ScriptedTransport*, const char*>{&a, "a"}, {&b, "b"}}) {
    t->name = name;
    t->log = &log;
    t->input.push_back("GET /api/" + std::string(name) + " HTTP/1.1\r\nHost: h\r\n\r\n");
  }
  auto ctx_a = context();
  auto ctx_b = context();
  asio::io_context io;
  asio::co_spawn(io, serve_connection(ctx_a, a), asio::detached);
  asio::co_spawn(io, serve_connection(ctx_b, b), asio::detached);
  io.run();
  const auto at = [&](std::string_view entry) {
    return std::find(log.begin(), log.end(), entry) - log.begin();
  };
  std::string trace;
  for (const auto& entry : log) trace += entry + "\n";
  const auto sent_a = at("upstream write GET /api/a HTTP/1.1");
  const auto sent_b = at("upstream write GET /api/b HTTP/1.1");
  ASSERT_LT(sent_a, std::ssize(log)) << trace;
  ASSERT_LT(sent_b, std::ssize(log)) << trace;
  EXPECT_LT(at("b read GET /api/b HTTP/1.1"), sent_a) << trace;
  EXPECT_LT(at("a read GET /api/a HTTP/1.1"), sent_b) << trace;
  EXPECT_TRUE(a.output.starts_with("HTTP/1.1 200 OK\r\n")) << a.output;
  EXPECT_TRUE(b.output.starts_with("HTTP/1.1 200 OK\r\n")) << b.output;
}

TEST_F(PipelineTest, NoRouteIs404WithProblemJson) {
  const auto out = serve({"GET /other HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 404 ")) << out;
  EXPECT_NE(out.find("Content-Type: application/problem+json"), std::string::npos);
  EXPECT_NE(out.find("\"code\":\"route.not_found\""), std::string::npos);
}

TEST_F(PipelineTest, RequireModeDeniesAFailedVerdictWithItsCodeAndStatus) {
  use_client_auth(config::ClientAuthMode::Require, {});
  client_cert_ = std::make_shared<pki::Verdict>(
      verdict(pki::Verdict::Outcome::Failed, core::DenialCode::MtlsCertExpired));
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 403 ")) << out;  // client_auth.denial_status
  EXPECT_NE(out.find("X-Denial-Code: mtls.cert_expired"), std::string::npos);
  EXPECT_TRUE(dialer_.sent.empty());
}

TEST_F(PipelineTest, RequestModeServesAnonymousRoutesAndGuardsMtlsRoutes) {
  use_client_auth(config::ClientAuthMode::Request, {});
  client_cert_ = std::make_shared<pki::Verdict>(
      verdict(pki::Verdict::Outcome::None, core::DenialCode::MtlsCertMissing));
  dialer_.plan.push_back({false, kOk});
  EXPECT_TRUE(serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"}).starts_with("HTTP/1.1 200"));

  use_client_auth(config::ClientAuthMode::Request, {"mtls"});
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 403 ")) << out;
  EXPECT_NE(out.find("X-Denial-Code: mtls.cert_missing"), std::string::npos);
}

TEST_F(PipelineTest, ValidCertificateSendsIdentityHeadersAndStripsForgedOnes) {
  use_client_auth(config::ClientAuthMode::Require, {"mtls"});
  client_cert_ =
      std::make_shared<pki::Verdict>(verdict(pki::Verdict::Outcome::Success, std::nullopt));
  dialer_.plan.push_back({false, kOk});
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\nX-Client-Subject: CN=root\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200")) << out;
  ASSERT_EQ(dialer_.sent.size(), 1u);
  EXPECT_NE(dialer_.sent[0].find("X-Client-Subject: CN=alice\r\n"), std::string::npos)
      << dialer_.sent[0];
  EXPECT_EQ(dialer_.sent[0].find("CN=root"), std::string::npos);
}

TEST_F(PipelineTest, AuthzDenialNamesTheRuleAndTheReason) {
  use_client_auth(config::ClientAuthMode::Require, {"mtls"});
  use_authz_subject("CN=bob");
  client_cert_ =
      std::make_shared<pki::Verdict>(verdict(pki::Verdict::Outcome::Success, std::nullopt));
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 403 ")) << out;
  EXPECT_NE(out.find("X-Denial-Code: authz.denied"), std::string::npos);
  EXPECT_NE(out.find("rule listeners[0].routes[0].authz.cert_subject: needs a certificate subject "
                     "matching 'CN=bob'; the subject is 'CN=alice'"),
            std::string::npos)
      << out;
  EXPECT_TRUE(dialer_.sent.empty());

  use_authz_subject("CN=ali*");
  dialer_.plan.push_back({false, kOk});
  EXPECT_TRUE(serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"}).starts_with("HTTP/1.1 200"));
}

TEST_F(PipelineTest, MissingVerdictOnClientAuthListenerFailsClosed) {
  use_client_auth(config::ClientAuthMode::Request, {});
  client_cert_ = nullptr;
  const auto out = serve({"GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 403 ")) << out;
  EXPECT_TRUE(dialer_.sent.empty());
}

TEST_F(PipelineTest, MissingHostOnHttp11IsMalformed) {
  const auto out = serve({"GET /api/ HTTP/1.1\r\n\r\n"});
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 ")) << out;
  EXPECT_NE(out.find("missing Host header"), std::string::npos);
}

// ---- the fast lane's steps (proxy/exchange.h) and its hand-backs (proxy/fast_lane.h) ----------

class ExchangeStepsTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    ctx_ = context();
  }
  std::unique_ptr<Exchange> exchange_for(std::string bytes) {
    buf_.consume(buf_.size());
    const auto n = boost::asio::buffer_copy(buf_.prepare(bytes.size()), asio::buffer(bytes));
    buf_.commit(n);
    return std::make_unique<Exchange>(ctx_, client_, buf_);
  }
  std::string buffered() const {
    return {static_cast<const char*>(buf_.data().data()), buf_.size()};
  }

  ConnectionContext ctx_;
  ScriptedTransport client_;
  boost::beast::flat_buffer buf_;
};

TEST_F(ExchangeStepsTest, DecideNowPreparesTheUpstreamHeadWithoutConsuming) {
  const std::string request =
      "GET /api/x HTTP/1.1\r\nHost: h\r\nX-Client-Subject: CN=mallory\r\n\r\n";
  auto ex = exchange_for(request + "GET /api/next HTTP/1.1\r\n");
  ASSERT_TRUE(ex->decide_now());
  const std::string& head = ex->upstream_head();
  EXPECT_TRUE(head.starts_with("GET /api/x HTTP/1.1\r\n")) << head;
  EXPECT_NE(head.find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Request-Id: "), std::string::npos);
  EXPECT_EQ(head.find("mallory"), std::string::npos);
  EXPECT_EQ(buffered(), request + "GET /api/next HTTP/1.1\r\n");  // untouched until sent
  ex->forwarded("127.0.0.1:9");
  EXPECT_EQ(buffered(), "GET /api/next HTTP/1.1\r\n");  // the pipelined rest stays
}

TEST_F(ExchangeStepsTest, DecideNowLeavesEverythingElseToThePipeline) {
  for (const std::string request : {
           "POST /api/ HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",  // a body
           "GET /api/ HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
           "GET /other HTTP/1.1\r\nHost: h\r\n\r\n",                 // no route: a 404 to render
           "GET /api/ HTTP/1.1\r\n\r\n",                             // no Host: a 400 to render
           "\r\nGET /api/ HTTP/1.1\r\nHost: h\r\n\r\n",              // leading empty line
           "GET /api/ HTTP/1.1\r\nHost: h\r\n",                      // not complete yet
           "GET /api/ HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",  // obs-fold
       }) {
    auto ex = exchange_for(request);
    EXPECT_FALSE(ex->decide_now()) << request;
    EXPECT_EQ(buffered(), request);
  }
}

TEST_F(ExchangeStepsTest, DecideNowAppliesTheListenerRequirement) {
  use_client_auth(config::ClientAuthMode::Require, {"mtls"});
  client_cert_ = std::make_shared<pki::Verdict>(
      verdict(pki::Verdict::Outcome::Failed, core::DenialCode::MtlsCertExpired));
  ctx_ = context();
  EXPECT_FALSE(exchange_for("GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n")->decide_now());
  client_cert_ =
      std::make_shared<pki::Verdict>(verdict(pki::Verdict::Outcome::Success, std::nullopt));
  ctx_ = context();
  auto ex = exchange_for("GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(ex->decide_now());
  EXPECT_NE(ex->upstream_head().find("X-Client-Subject: CN=alice\r\n"), std::string::npos)
      << ex->upstream_head();
}

TEST_F(ExchangeStepsTest, ResponseNowRelaysOnlySimpleResponses) {
  auto answer = [&](std::string request, std::string response, std::string* head_out = nullptr,
                    std::uint64_t* length_out = nullptr, std::size_t* left = nullptr) {
    auto ex = exchange_for(std::move(request));
    EXPECT_TRUE(ex->decide_now());
    ex->forwarded("127.0.0.1:9");
    boost::beast::flat_buffer ubuf;
    ubuf.commit(boost::asio::buffer_copy(ubuf.prepare(response.size()), asio::buffer(response)));
    std::string head;
    std::uint64_t length = 0;
    const auto got = ex->response_now(ubuf, head, length);
    if (head_out) *head_out = head;
    if (length_out) *length_out = length;
    if (left) *left = ubuf.size();
    return got;
  };
  const std::string get = "GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string head;
  std::uint64_t length = 0;
  std::size_t left = 0;
  EXPECT_EQ(answer(get, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", &head, &length, &left),
            Exchange::Answer::Relay);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("X-Request-Id: "), std::string::npos);
  EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(length, 5u);
  EXPECT_EQ(left, 2u);  // the body bytes so far stay for the relay
  EXPECT_EQ(answer("HEAD /api/ HTTP/1.1\r\nHost: h\r\n\r\n",
                   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", nullptr, &length),
            Exchange::Answer::Relay);
  EXPECT_EQ(length, 0u);
  EXPECT_EQ(answer(get, "HTTP/1.1 204 No Content\r\n\r\n"), Exchange::Answer::Relay);
  EXPECT_EQ(answer(get, "HTTP/1.1 200 OK\r\nContent-Len"), Exchange::Answer::NeedMore);
  EXPECT_EQ(answer(get, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Exchange::Answer::Handover);
  EXPECT_EQ(answer(get, "HTTP/1.1 200 OK\r\n\r\nuntil close"), Exchange::Answer::Handover);
  EXPECT_EQ(answer(get, "HTTP/1.1 100 Continue\r\n\r\n"), Exchange::Answer::Handover);
  EXPECT_EQ(answer(get, "NOT HTTP\r\n\r\n"), Exchange::Answer::Handover);
}

/// A lane that hands back what the test scripted, once; later calls give Close.
class ScriptedLane final : public FastLane {
 public:
  std::function<LaneReturn(ConnectionContext&, Transport&, boost::beast::flat_buffer&)> script;
  int calls = 0;
  bool serves = true;
  bool accepts(Transport&) override { return true; }
  bool serves_upstream(std::size_t) const override { return serves; }
  awaitable<LaneReturn> serve(ConnectionContext& ctx, Transport& client,
                              boost::beast::flat_buffer& buf, bool) override {
    ++calls;
    if (calls > 1 || !script) co_return LaneReturn{};
    co_return script(ctx, client, buf);
  }
};

TEST_F(ExchangeStepsTest, DecideNowLeavesUpstreamsTheLaneCannotReach) {
  ScriptedLane lane;
  lane.serves = false;  // a TLS upstream, or one behind an outbound proxy
  ctx_.lane = &lane;
  EXPECT_FALSE(exchange_for("GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n")->decide_now());
  lane.serves = true;
  EXPECT_TRUE(exchange_for("GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n")->decide_now());
}

void append(boost::beast::flat_buffer& buf, std::string_view bytes) {
  buf.commit(boost::asio::buffer_copy(buf.prepare(bytes.size()), asio::buffer(bytes)));
}

/// What the lane gives back for a GET it forwarded on `upstream`, whose answer so far is
/// `so_far`.
LaneReturn forwarded_in_flight(ConnectionContext& ctx, Transport& client,
                               boost::beast::flat_buffer& buf, std::string_view so_far,
                               std::unique_ptr<UpstreamConnection> upstream) {
  append(buf, "GET /api/x HTTP/1.1\r\nHost: h\r\n\r\n");
  LaneReturn back;
  back.kind = LaneReturn::Kind::InFlight;
  back.exchange = std::make_unique<Exchange>(ctx, client, buf);
  EXPECT_TRUE(back.exchange->decide_now());
  back.exchange->forwarded("127.0.0.1:9");
  append(back.ubuf, so_far);
  back.upstream = std::move(upstream);
  back.time_left = std::chrono::milliseconds(100);
  return back;
}

class LaneHandBackTest : public PipelineTest {
 protected:
  /// Serves a connection whose lane hands back what `script` makes, once; the client's output.
  std::string serve_with_lane(
      std::function<LaneReturn(ConnectionContext&, Transport&, boost::beast::flat_buffer&)>
          script) {
    lane_.script = std::move(script);
    ScriptedTransport client;
    auto ctx = context();
    ctx.lane = &lane_;
    asio::io_context io;
    asio::co_spawn(io, serve_connection(ctx, client), asio::detached);
    io.run();
    closed_ = client.closed;
    return client.output;
  }
  ScriptedLane lane_;
  bool closed_ = false;
};

TEST_F(LaneHandBackTest, ARequestHandedBackIsServedByThePipeline) {
  dialer_.plan.push_back({false, kOk});
  const auto out = serve_with_lane([](ConnectionContext&, Transport&, auto& buf) {
    append(buf, "GET /api/from-lane HTTP/1.1\r\nHost: h\r\n\r\n");
    LaneReturn back;
    back.kind = LaneReturn::Kind::Request;
    return back;
  });
  ASSERT_EQ(dialer_.sent.size(), 1u);
  EXPECT_TRUE(dialer_.sent[0].starts_with("GET /api/from-lane HTTP/1.1\r\n"));
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_EQ(lane_.calls, 2);  // back to the lane after the request, which then closes
  EXPECT_TRUE(closed_);
}

TEST_F(LaneHandBackTest, AnExchangeInFlightResumesWithWhatTheUpstreamSentSoFar) {
  const auto out = serve_with_lane([](ConnectionContext& ctx, Transport& client, auto& buf) {
    // The upstream answered chunked: the head and a chunk arrived, the rest follows.
    return forwarded_in_flight(ctx, client, buf,
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                               std::make_unique<ScriptedConnection>(true, "2\r\nde\r\n0\r\n\r\n"));
  });
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")) << out;
  EXPECT_EQ(dialer_.released_reusable, 1);  // back to the pool after a complete exchange
  EXPECT_TRUE(dialer_.reuses.empty());      // nothing dialled: the request was already sent
}

TEST_F(LaneHandBackTest, AnUpstreamThatClosedBeforeAnsweringIsResentOnAFreshConnection) {
  dialer_.plan.push_back({false, kOk});
  const auto out = serve_with_lane([](ConnectionContext& ctx, Transport& client, auto& buf) {
    return forwarded_in_flight(ctx, client, buf, "",
                               std::make_unique<ScriptedConnection>(true, ""));  // eof at once
  });
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_EQ(dialer_.reuses, (std::vector<Reuse>{Reuse::Fresh}));
  ASSERT_EQ(dialer_.sent.size(), 2u);  // the stale one (nothing), then the resend
  EXPECT_TRUE(dialer_.sent[1].starts_with("GET /api/x HTTP/1.1\r\n")) << dialer_.sent[1];
}

}  // namespace
}  // namespace portcullis::proxy

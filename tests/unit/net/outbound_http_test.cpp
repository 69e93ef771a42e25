// The gateway's own HTTP client against canned loopback servers: every failure class (DNS,
// refused, timeout, TLS vs plain HTTP in both directions, truncated and oversized answers) and
// the framing of the request and of the answer.
#include "net/outbound_http.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;

/// A one-connection server on 127.0.0.1: reads the request (up to the blank line and the
/// Content-Length body), then writes `answer` and closes (unless `hold` keeps it silent).
class CannedServer {
 public:
  explicit CannedServer(std::string answer, bool hold = false, bool read_request = true)
      : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, hold, read_request] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (read_request) {
        char buf[4096];
        while (request_.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          request_.append(buf, static_cast<std::size_t>(n));
        }
        const auto cl = request_.find("Content-Length: ");
        if (cl != std::string::npos) {
          const std::size_t want = std::stoul(request_.substr(cl + 16));
          while (request_.size() - (request_.find("\r\n\r\n") + 4) < want) {
            const ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            request_.append(buf, static_cast<std::size_t>(n));
          }
        }
      }
      if (!answer_.empty()) (void)::write(c, answer_.data(), answer_.size());
      if (hold) {
        char b;
        while (::read(c, &b, 1) > 0) {
        }
      }
      ::close(c);
    });
  }
  ~CannedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  std::string answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string request_;
  std::thread thread_;
};

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

OutboundResult send(OutboundRequest request) {
  asio::io_context io;
  OutboundResult out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await send_outbound(request); },
      asio::detached);
  io.run();
  return out;
}

OutboundRequest to(const std::string& url,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  OutboundRequest r;
  r.url = core::parse_url(url).value();
  r.timeout = timeout;
  return r;
}

std::string local(std::uint16_t port, const std::string& path = "/check") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(OutboundHttp, ReadsAnAnswerWithContentLength) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-User: alice\r\n\r\nhello");
  auto request = to(local(server.port(), "/auth?x=1"));
  request.method = "POST";
  request.body = "abc";
  request.headers = {{"X-Original-Method", "GET"}};
  const auto r = send(request);
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.reason, "OK");
  EXPECT_EQ(r.response.body, "hello");
  EXPECT_EQ(r.response.header("x-user"), "alice");
  EXPECT_EQ(r.response.header("missing"), "");
  const std::string& sent = server.request();
  EXPECT_EQ(sent.rfind("POST /auth?x=1 HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_NE(sent.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(sent.find("X-Original-Method: GET\r\n"), std::string::npos);
  EXPECT_NE(sent.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_NE(sent.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(sent.substr(sent.size() - 3), "abc");
}

TEST(OutboundHttp, ReadsChunkedAndCloseDelimitedAnswers) {
  {
    CannedServer server(
        "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: "
        "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    const auto r = send(to(local(server.port())));
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.response.status, 401);
    EXPECT_EQ(r.response.body, "abcde");
  }
  {
    CannedServer server("HTTP/1.0 200 OK\r\n\r\n{\"keys\":[]}");
    const auto r = send(to(local(server.port())));
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.response.body, "{\"keys\":[]}");
  }
}

TEST(OutboundHttp, ClosedPortIsConnectFailure) {
  const auto port = closed_port();
  const auto r = send(to(local(port)));
  EXPECT_EQ(r.failure, OutboundFailure::Connect);
  EXPECT_NE(r.detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("refused"), std::string::npos) << r.detail;
}

TEST(OutboundHttp, UnresolvableNameIsDnsFailure) {
  const auto r = send(to("http://no-such-host.invalid/x"));
  EXPECT_EQ(r.failure, OutboundFailure::Dns);
  EXPECT_NE(r.detail.find("no-such-host.invalid"), std::string::npos) << r.detail;
}

TEST(OutboundHttp, SilentServerIsTimeout) {
  CannedServer server("", /*hold=*/true);
  const auto r = send(to(local(server.port()), std::chrono::milliseconds(300)));
  EXPECT_EQ(r.failure, OutboundFailure::Timeout);
  EXPECT_NE(r.detail.find("300 ms"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("waiting for the response"), std::string::npos) << r.detail;
}

TEST(OutboundHttp, TlsAnswerToPlainRequestIsProtocolMismatch) {
  // What a TLS server sends after reading "GET / HTTP/1.1" as a record: an alert.
  CannedServer server(std::string("\x15\x03\x03\x00\x02\x02\x46", 7));
  const auto r = send(to(local(server.port())));
  EXPECT_EQ(r.failure, OutboundFailure::ProtocolMismatch);
  EXPECT_NE(r.detail.find("https"), std::string::npos) << r.detail;
}

TEST(OutboundHttp, PlainAnswerToTlsIsProtocolMismatch) {
  CannedServer server("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false,
                      /*read_request=*/false);
  asio::ssl::context tls(asio::ssl::context::tls_client);
  auto request = to("https://127.0.0.1:" + std::to_string(server.port()) + "/keys");
  request.tls = &tls;
  const auto r = send(request);
  EXPECT_EQ(r.failure, OutboundFailure::ProtocolMismatch) << r.detail;
  EXPECT_NE(r.detail.find("plain HTTP"), std::string::npos) << r.detail;
}

TEST(OutboundHttp, HttpsWithoutTlsContextIsRefused) {
  const auto r = send(to("https://127.0.0.1:1/keys"));
  EXPECT_EQ(r.failure, OutboundFailure::Tls);
}

TEST(OutboundHttp, OversizedBodyIsTooLarge) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  auto request = to(local(server.port()));
  request.max_body = 10;
  const auto r = send(request);
  EXPECT_EQ(r.failure, OutboundFailure::TooLarge);
}

TEST(OutboundHttp, ClosedWithoutAnswerOrMidway) {
  {
    CannedServer server("");
    const auto r = send(to(local(server.port())));
    EXPECT_EQ(r.failure, OutboundFailure::BadResponse);
    EXPECT_NE(r.detail.find("without an answer"), std::string::npos) << r.detail;
  }
  {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    const auto r = send(to(local(server.port())));
    EXPECT_EQ(r.failure, OutboundFailure::BadResponse);
    EXPECT_NE(r.detail.find("before the answer was complete"), std::string::npos) << r.detail;
  }
  {
    CannedServer server("SSH-2.0-OpenSSH_9.2\r\n");
    const auto r = send(to(local(server.port())));
    EXPECT_EQ(r.failure, OutboundFailure::BadResponse);
  }
}

}  // namespace
}  // namespace portcullis::net

// UpstreamPool against real loopback sockets: failure codes name the endpoint, round robin skips
// a dead endpoint, and idle connections are reused only while alive.
#include "net/upstream_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed when `a` goes away
}

class UpstreamPoolTest : public ::testing::Test {
 protected:
  std::shared_ptr<const proxy::Runtime> runtime(std::vector<config::Endpoint> endpoints) {
    config::Config cfg;
    cfg.log.access = config::AccessLogTarget::Off;
    config::UpstreamConfig up;
    up.name = "app";
    up.endpoints = std::move(endpoints);
    up.connect_timeout = std::chrono::milliseconds(2000);
    cfg.upstreams["app"] = up;
    auto rt = proxy::build_runtime(std::move(cfg), metrics_);
    EXPECT_TRUE(rt);
    return *rt;
  }

  proxy::DialResult acquire(UpstreamPool& pool, proxy::Reuse reuse = proxy::Reuse::Checked) {
    proxy::DialResult out;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          out = co_await pool.acquire(0, reuse);
          done = true;
        },
        asio::detached);
    io_.restart();
    // Other work (a test acceptor) may stay pending: run only until the dial completes.
    for (int i = 0; i < 100000 && !done; ++i) io_.run_one_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(done);
    return out;
  }

  asio::io_context io_;
  metrics::Registry metrics_;
};

TEST_F(UpstreamPoolTest, ClosedPortIsConnectFailedNamingTheEndpoint) {
  const auto port = closed_port();
  auto rt = runtime({{"127.0.0.1", port, {}}});
  UpstreamPool pool(io_, *rt, {nullptr});
  auto r = acquire(pool);
  ASSERT_FALSE(r.connection);
  EXPECT_EQ(r.denial.code, core::DenialCode::UpstreamConnectFailed);
  EXPECT_NE(r.denial.detail.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.denial.detail;
}

TEST_F(UpstreamPoolTest, UnresolvableNameIsDnsFailed) {
  auto rt = runtime({{"nonexistent.invalid", 80, {}}});
  UpstreamPool pool(io_, *rt, {nullptr});
  auto r = acquire(pool);
  ASSERT_FALSE(r.connection);
  EXPECT_EQ(r.denial.code, core::DenialCode::UpstreamDnsFailed);
  EXPECT_NE(r.denial.detail.find("nonexistent.invalid"), std::string::npos);
}

TEST_F(UpstreamPoolTest, SkipsDeadEndpointAndReusesLiveIdleConnection) {
  asio::ip::tcp::acceptor live(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const auto live_port = live.local_endpoint().port();
  std::vector<asio::ip::tcp::socket> accepted;
  std::function<void()> accept_next = [&] {
    live.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (!ec) {
        accepted.push_back(std::move(s));
        accept_next();
      }
    });
  };
  accept_next();
  auto rt = runtime({{"127.0.0.1", closed_port(), {}}, {"127.0.0.1", live_port, {}}});
  UpstreamPool pool(io_, *rt, {nullptr, nullptr});

  auto first = acquire(pool);  // endpoint 0 is dead: falls through to endpoint 1
  ASSERT_TRUE(first.connection) << first.denial.detail;
  EXPECT_EQ(first.connection->endpoint(), "127.0.0.1:" + std::to_string(live_port));
  EXPECT_FALSE(first.connection->reused());
  pool.release(std::move(first.connection), true);

  auto second = acquire(pool);  // round robin lands on the live endpoint's idle connection
  if (!second.connection || !second.connection->reused()) {
    second = acquire(pool);
  }
  ASSERT_TRUE(second.connection);
  EXPECT_TRUE(second.connection->reused());

  // The upstream closes its side: the idle connection must not be handed out again.
  pool.release(std::move(second.connection), true);
  io_.restart();
  io_.poll();
  for (auto& s : accepted) s.close();
  auto third = acquire(pool);
  ASSERT_TRUE(third.connection) << third.denial.detail;
  EXPECT_FALSE(third.connection->reused());
  live.close();
}

TEST_F(UpstreamPoolTest, IdleConnectionWithUnsolicitedBytesIsNeverReused) {
  // An upstream that writes a late, extra response on an idle keep-alive connection: reusing it
  // would hand that response to the next client (issue #22).
  asio::ip::tcp::acceptor live(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<asio::ip::tcp::socket> accepted;
  live.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
    if (!ec) accepted.push_back(std::move(s));
  });
  auto rt = runtime({{"127.0.0.1", live.local_endpoint().port(), {}}});
  UpstreamPool pool(io_, *rt, {nullptr});
  auto first = acquire(pool);
  ASSERT_TRUE(first.connection) << first.denial.detail;
  io_.restart();
  io_.poll();
  ASSERT_EQ(accepted.size(), 1u);
  pool.release(std::move(first.connection), true);
  const std::string stale = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale";
  asio::write(accepted[0], asio::buffer(stale));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loopback delivery

  live.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
    if (!ec) accepted.push_back(std::move(s));
  });
  auto next = acquire(pool);
  ASSERT_TRUE(next.connection) << next.denial.detail;
  EXPECT_FALSE(next.connection->reused());
  live.close();
}

}  // namespace
}  // namespace portcullis::net

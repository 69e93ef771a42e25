// JwksFetcher without a JWKS server: the url checks at creation, and the state after a failed
// first fetch (the error a 503 will carry, Retry-After, no keys, the unknown-kid gate).
#include "net/jwks_fetcher.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;

config::JwksConfig jwks(const std::string& url) {
  config::JwksConfig c;
  c.url = url;
  c.origin = {"authenticators.tokens.jwks", 7};
  c.refresh_interval = std::chrono::seconds(60);
  c.timeout = std::chrono::milliseconds(500);
  return c;
}

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST(JwksFetcher, RefusesPlainHttpAndBadUrls) {
  auto http = JwksFetcher::create("tokens", jwks("http://idp/keys"));
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error().where, "authenticators.tokens.jwks.url");
  EXPECT_EQ(http.error().line, 7);
  EXPECT_NE(http.error().message.find("https://"), std::string::npos);
  auto bad = JwksFetcher::create("tokens", jwks("https://user:pw@idp/keys"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("user information"), std::string::npos);
}

TEST(JwksFetcher, CreateFetchesNothing) {
  auto f = JwksFetcher::create("tokens", jwks("https://127.0.0.1:1/keys"));
  ASSERT_TRUE(f) << f.error().to_string();
  EXPECT_EQ((*f)->keys(), nullptr);
  EXPECT_EQ((*f)->status().error, "the keys have not been fetched yet");
}

TEST(JwksFetcher, FailedFetchKeepsTheErrorAndGatesUnknownKidRefreshes) {
  const auto port = closed_port();
  auto f =
      JwksFetcher::create("tokens", jwks("https://127.0.0.1:" + std::to_string(port) + "/keys"));
  ASSERT_TRUE(f);
  (*f)->start(std::chrono::seconds(5));
  const auto status = (*f)->status();
  EXPECT_NE(status.error.find("Connection refused"), std::string::npos) << status.error;
  EXPECT_NE(status.error.find("fetching https://127.0.0.1:" + std::to_string(port) + "/keys"),
            std::string::npos);
  // Retried every 10 s while failing.
  EXPECT_GE(status.retry_after.count(), 1);
  EXPECT_LE(status.retry_after.count(), 10);
  EXPECT_EQ((*f)->keys(), nullptr);

  // The first unknown-kid refresh fetches (and fails); the second within the interval does not
  // fetch but still reports the error.
  asio::io_context io;
  proxy::KeyRefresh first, second;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        first = co_await (*f)->refresh_for_unknown_kid();
        second = co_await (*f)->refresh_for_unknown_kid();
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(first.fetched);
  EXPECT_NE(first.error.find("refused"), std::string::npos) << first.error;
  EXPECT_FALSE(second.fetched);
  EXPECT_EQ(second.error, first.error);
}

}  // namespace
}  // namespace portcullis::net

// refuse_self_connection against a socket that really is connected to itself (bound to a port,
// then connected to that same address: TCP's simultaneous open) and against an ordinary one.
#include "net/self_connect.h"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(SelfConnectTest, RefusesAndAbortsASocketConnectedToItself) {
  asio::io_context io;
  tcp::socket s(io);
  s.open(tcp::v4());  // no SO_REUSEADDR, like a dialer's socket
  s.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto self = s.local_endpoint();
  boost::system::error_code ec;
  s.connect(self, ec);
  ASSERT_FALSE(ec) << ec.message();  // the kernel lets it: this is the case to guard against
  ASSERT_EQ(s.remote_endpoint(), self);

  EXPECT_EQ(refuse_self_connection(s), asio::error::connection_refused);
  EXPECT_FALSE(s.is_open());

  // The port is free at once: the server that belongs there can start (a plain close would
  // leave a TIME_WAIT socket that a listener's bind conflicts with for a minute).
  tcp::acceptor listener(io);
  listener.open(tcp::v4());
  listener.set_option(tcp::acceptor::reuse_address(true));
  listener.bind(self, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST(SelfConnectTest, LeavesAnOrdinaryConnectionAlone) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();

  EXPECT_FALSE(refuse_self_connection(client));
  EXPECT_TRUE(client.is_open());
  EXPECT_FALSE(refuse_self_connection(server));
  EXPECT_TRUE(server.is_open());
}

TEST(SelfConnectTest, LeavesAnUnconnectedSocketAlone) {
  asio::io_context io;
  tcp::socket s(io);
  s.open(tcp::v4());
  EXPECT_FALSE(refuse_self_connection(s));
  EXPECT_TRUE(s.is_open());
}

}  // namespace
}  // namespace portcullis::net

// What the workers' acceptors rely on from the kernel (net/worker.cpp): a socket accepted from a
// listener with TCP_NODELAY has TCP_NODELAY itself, so it is set once per listener rather than
// once per connection; and the accept hands over the peer's address (no getpeername).
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace portcullis::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Accepted {
  tcp::socket socket;
  tcp::endpoint peer;
  tcp::endpoint client_local;
};

Accepted accept_one(asio::io_context& io, bool nodelay_on_listener) {
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  if (nodelay_on_listener) acceptor.set_option(tcp::no_delay(true));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::endpoint peer;
  tcp::socket accepted = acceptor.accept(peer);
  return {std::move(accepted), peer, client.local_endpoint()};
}

TEST(AcceptOptions, TcpNoDelayIsInheritedFromTheListener) {
  asio::io_context io;
  Accepted with = accept_one(io, true);
  tcp::no_delay option;
  with.socket.get_option(option);
  EXPECT_TRUE(option.value());
  // And it is the listener's option that does it: without it, no TCP_NODELAY.
  Accepted without = accept_one(io, false);
  without.socket.get_option(option);
  EXPECT_FALSE(option.value());
}

TEST(AcceptOptions, TheAcceptGivesThePeersAddress) {
  asio::io_context io;
  Accepted a = accept_one(io, true);
  EXPECT_EQ(a.peer, a.client_local);
}

}  // namespace
}  // namespace portcullis::net

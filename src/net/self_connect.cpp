// refuse_self_connection: a connected socket whose peer is itself is closed and refused.
#include "net/self_connect.h"

#include <boost/asio/error.hpp>

namespace portcullis::net {

boost::system::error_code refuse_self_connection(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code local_ec;
  boost::system::error_code remote_ec;
  const auto local = socket.local_endpoint(local_ec);
  const auto remote = socket.remote_endpoint(remote_ec);
  if (local_ec || remote_ec || local != remote) return {};
  // Aborted (a zero linger: RST, no FIN): a normal close would leave the port in TIME_WAIT for a
  // minute, and a listener cannot bind a port a TIME_WAIT socket without SO_REUSEADDR holds.
  boost::system::error_code ignored;
  socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
  return boost::asio::error::connection_refused;
}

}  // namespace portcullis::net

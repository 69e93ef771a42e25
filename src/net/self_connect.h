// TCP's simultaneous open lets a socket connect to itself: dialling a port of the machine's own
// ephemeral range that nobody listens on, the kernel may pick that very port as the source, and
// the "connection" succeeds. It then echoes every request back as its answer and holds the port
// the real server needs to start. Dialers refuse such a connection like a closed port.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace portcullis::net {

/// For a socket just connected: when its local and remote endpoints are the same, aborts it
/// (no TIME_WAIT is left holding the port) and returns connection_refused; otherwise returns no
/// error and leaves it alone.
boost::system::error_code refuse_self_connection(boost::asio::ip::tcp::socket& socket);

}  // namespace portcullis::net

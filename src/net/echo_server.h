// `portcullis echo`: a demo/test upstream that answers every request with a JSON description of
// what it received (method, path, query, headers, body length). Query parameters shape the
// answer for tests: echo_status=N, echo_delay_ms=N, echo_bytes=N (N bytes of 'x' instead of JSON),
// echo_chunked=1 (chunked instead of Content-Length).
#pragma once

#include <string>

#include "core/result.h"

namespace portcullis::net {

struct EchoOptions {
  std::string listen;    ///< "127.0.0.1:9000" or "[::1]:9000"
  std::string tls_cert;  ///< optional: serve HTTPS with this chain...
  std::string tls_key;   ///< ...and key
  int threads = 1;
};

/// Serves until SIGINT/SIGTERM. Returns the process exit status; errors before serving are
/// returned as Error (exit 2).
core::Result<int> run_echo_server(const EchoOptions& options);

/// Starts the echo server on a background thread (used by `portcullis demo`).
/// The server lives until the process exits.
core::Result<void> start_echo_server_thread(const EchoOptions& options);

}  // namespace portcullis::net

// `portcullis echo --listen ADDR`: the demo/test upstream.
#include <memory>

#include "cli/commands.h"
#include "net/echo_server.h"

namespace portcullis::cli {

Command add_echo_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("echo",
                         "Run an upstream that answers with the request it received, as JSON "
                         "(query: echo_status, echo_delay_ms, echo_bytes, echo_chunked=1)");
  auto options = std::make_shared<net::EchoOptions>();
  cmd->add_option("--listen", options->listen, "IP:PORT to listen on")->required();
  cmd->add_option("--tls-cert", options->tls_cert, "Serve HTTPS with this certificate chain");
  cmd->add_option("--tls-key", options->tls_key, "Private key for --tls-cert");
  cmd->add_option("--threads", options->threads, "I/O threads")->check(CLI::Range(1, 64));
  return Command{cmd, [options] {
                   auto rc = net::run_echo_server(*options);
                   if (!rc) {
                     print_error(rc.error().to_string());
                     return 2;
                   }
                   return *rc;
                 }};
}

}  // namespace portcullis::cli

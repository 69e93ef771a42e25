// `portcullis verify CERT --ca BUNDLE [...]`: the gateway's verdict on a client certificate
// (diag/verify_report.h), with the chain built. Exit 0 accepted, 1 rejected, 2 usage or files
// the gateway would refuse to load.
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "diag/password.h"
#include "diag/render.h"
#include "diag/time_arg.h"
#include "diag/verify_report.h"

namespace portcullis::cli {
namespace {

struct VerifyArgs {
  std::string cert;
  std::string chain;
  std::string ca;
  std::string intermediates;
  std::string crl;
  std::string purpose = "client";
  bool issuer_dn = false;
  std::string at;
  int depth = 4;
  bool strict = false;
  bool partial_chain = false;
  std::string password_file;
  bool json = false;
};

std::optional<std::string> optional_path(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional(s);
}

int usage_error(const VerifyArgs& args, const std::string& message) {
  if (args.json) {
    std::cout
        << nlohmann::ordered_json{{"verdict", "error"}, {"ok", false}, {"error", message}}.dump(2)
        << "\n";
  }
  print_error(message);
  return 2;
}

/// No verdict: the message, and the bundle finding (code, fix) when the trust bundle was refused.
int verify_error(const VerifyArgs& args, const diag::VerifyError& e) {
  const auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s);
  };
  if (args.json) {
    nlohmann::ordered_json out{{"verdict", "error"},
                               {"ok", false},
                               {"error", e.message},
                               {"code", or_null(e.code)},
                               {"hint", or_null(e.fix)}};
    std::cout << out.dump(2) << "\n";
  }
  print_error(e.code.empty() ? e.message : e.message + " [" + e.code + "; fix: " + e.fix + "]");
  return 2;
}

}  // namespace

Command add_verify_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "verify", "Verify a client certificate as the gateway does: code, hint and the chain built");
  cmd->footer(
      "Same loader, engine and defaults as a listener's client_auth. Exit status: 0 accepted, "
      "1 rejected, 2 usage or files the gateway would refuse (docs/diagnostics.md)");
  auto args = std::make_shared<VerifyArgs>();
  cmd->add_option("CERT", args->cert,
                  "The client certificate (leaf first; further certificates in the file are "
                  "sent as its chain). PEM, DER, PKCS#7 or PKCS#12")
      ->required();
  cmd->add_option("--chain", args->chain, "More certificates the client sends (intermediates)");
  cmd->add_option("--ca", args->ca, "The trusted CA bundle (client_auth.trusted_ca, PEM)")
      ->required();
  cmd->add_option("--intermediates", args->intermediates,
                  "Untrusted helper intermediates (client_auth.intermediates, PEM)");
  cmd->add_option("--crl", args->crl, "CRLs (client_auth.crl, PEM or DER)");
  cmd->add_option("--purpose", args->purpose,
                  "Required extended key usage: client (clientAuth, the gateway's), server "
                  "(serverAuth) or any (no EKU check)")
      ->check(CLI::IsMember({"client", "server", "any"}))
      ->default_str("client");
  cmd->add_flag("--issuer-dn", args->issuer_dn,
                "Also require the issuer DN to equal a configured CA subject "
                "(client_auth.verify_issuer_dn)");
  cmd->add_option("--at", args->at,
                  "Verify at this time instead of now (RFC 3339, a date, or @UNIX)");
  cmd->add_option("--depth", args->depth,
                  "Maximum number of intermediates (client_auth.verify_depth)")
      ->check(CLI::Range(0, 100))
      ->default_str("4");
  cmd->add_flag("--strict", args->strict,
                "OpenSSL's X509_STRICT mode; AWS-LC has none, so the result is the gateway's "
                "(docs/conformance.md lists the 8 x509-limbo cases only that mode refused)");
  cmd->add_flag("--partial-chain", args->partial_chain,
                "Let a trusted CA that is not a self-signed root end the chain (diagnostics; the "
                "gateway never does)");
  cmd->add_option("--password-file", args->password_file,
                  "File whose first line is the PKCS#12 password of CERT");
  cmd->add_flag("--json", args->json, "Report as JSON");
  return Command{cmd, [args] {
                   diag::VerifyRequest request;
                   request.cert_file = args->cert;
                   request.chain_file = optional_path(args->chain);
                   request.ca_file = args->ca;
                   request.intermediates_file = optional_path(args->intermediates);
                   request.crl_file = optional_path(args->crl);
                   request.policy.max_depth = args->depth;
                   request.policy.verify_issuer_dn = args->issuer_dn;
                   request.policy.x509_strict = args->strict;
                   request.policy.allow_partial_chain = args->partial_chain;
                   request.policy.purpose = args->purpose == "server" ? pki::VerifyPolicy::Server
                                            : args->purpose == "any"  ? pki::VerifyPolicy::Any
                                                                      : pki::VerifyPolicy::Client;
                   if (!args->at.empty()) {
                     auto at = diag::parse_time_arg(args->at);
                     if (!at) return usage_error(*args, "--at: " + at.error().message);
                     request.policy.at = *at;
                   }
                   auto read = diag::cli_read_options(optional_path(args->password_file));
                   if (!read) return usage_error(*args, read.error().message);
                   request.read = std::move(*read);
                   auto report = diag::run_verify(request);
                   if (!report) return verify_error(*args, report.error());
                   if (args->json) {
                     std::cout << diag::verify_json(*report).dump(2) << "\n";
                   } else {
                     std::cout << diag::verify_text(*report);
                   }
                   return report->verdict.ok() ? 0 : 1;
                 }};
}

}  // namespace portcullis::cli

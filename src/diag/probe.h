// `portcullis probe`: one request walked step by step (URL, proxy, resolution, TCP, TLS, HTTP)
// with blocking sockets and OpenSSL, stopping at the first failing step with its cause and fix.
// Never links the server: every step is plain POSIX + OpenSSL (probe_*.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace portcullis::diag {

/// What to probe and with which credentials.
struct ProbeOptions {
  std::string url;
  std::string cert, key;       ///< client certificate (PEM chain, leaf first) and key; optional
  std::string ca;              ///< CA file to verify the server with; empty = the system bundle
  std::string user, password;  ///< HTTP Basic (password already read from its file)
  std::string bearer;          ///< a bearer token (already read from its file)
  std::string proxy;           ///< "" = from the environment, "none", or an http:// URL
  std::string method = "GET";
  std::chrono::milliseconds timeout{5000};  ///< per step (connect, handshake, response)
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

enum class StepStatus { Ok, Warn, Fail };

/// A problem found by a step: a stable code, what is wrong, and how to fix it.
struct ProbeProblem {
  std::string code;  ///< e.g. "tls.chain_incomplete", "http.auth_scheme_mismatch"
  std::string message;
  std::string fix;
};

/// One step of the walk.
struct ProbeStep {
  std::string name;  ///< "url", "proxy", "resolve", "connect", "tls", "http"
  StepStatus status = StepStatus::Ok;
  std::string summary;             ///< one line
  std::vector<std::string> facts;  ///< what was observed, one line each
  std::vector<ProbeProblem> problems;
  nlohmann::ordered_json data = nlohmann::ordered_json::object();  ///< the facts for --json

  /// Records a problem; `fail` makes the step (and the walk) fail, otherwise it warns.
  void problem(std::string code, std::string message, std::string fix, bool fail);
};

/// The whole walk.
struct ProbeReport {
  std::string url;
  std::vector<ProbeStep> steps;
  int http_status = 0;  ///< the final status; 0 = no HTTP response
  /// 0 when the final status is 2xx or 3xx, 1 otherwise.
  int exit_code() const { return http_status >= 200 && http_status < 400 ? 0 : 1; }
};

/// Walks the request. A usage problem (a malformed URL or --proxy) is reported as a failed
/// `url`/`proxy` step like any other.
ProbeReport run_probe(const ProbeOptions& options);

std::string probe_text(const ProbeReport& report);
nlohmann::ordered_json probe_json(const ProbeReport& report);

}  // namespace portcullis::diag

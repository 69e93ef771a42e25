// Probe step "http": the request and what the response says — status, authentication schemes
// (and whether the credentials given can ever be accepted), Date against the local clock,
// redirects, and the error pages of IIS, nginx, Azure Application Gateway and Portcullis
// (recognised through the explain knowledge base and the denial catalogue).
#include <strings.h>

#include <ctime>

#include "core/denial.h"
#include "diag/probe_steps.h"
#include "explain/kb_match.h"

namespace portcullis::diag {
namespace {

bool has_scheme(const std::vector<std::string>& schemes, const char* name) {
  for (const auto& s : schemes) {
    if (strcasecmp(s.c_str(), name) == 0) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void check_auth(const HttpHead& head, const ProbeOptions& options, ProbeStep& step) {
  const auto schemes = auth_schemes(head.all("WWW-Authenticate"));
  step.data["www_authenticate"] = schemes;
  if (head.status != 401) return;
  const std::string offered = schemes.empty() ? "no scheme (no WWW-Authenticate)" : join(schemes);
  const bool sent_basic = !options.user.empty();
  const bool sent_bearer = !options.bearer.empty();
  const std::string only = "the server offers " + offered + (schemes.size() == 1 ? " only" : "");
  if (sent_basic && !has_scheme(schemes, "Basic")) {
    step.problem("http.auth_scheme_mismatch",
                 only + "; Basic credentials will never be accepted here",
                 "authenticate with " + offered +
                     (has_scheme(schemes, "Negotiate") || has_scheme(schemes, "NTLM")
                          ? " (Windows integrated authentication: curl --negotiate -u :, .NET "
                            "UseDefaultCredentials)"
                          : ""),
                 true);
  } else if (sent_bearer && !has_scheme(schemes, "Bearer")) {
    step.problem("http.auth_scheme_mismatch", only + "; a bearer token will never be accepted here",
                 "authenticate with " + offered, true);
  } else if (sent_basic || sent_bearer) {
    std::string detail;
    for (const auto& c : head.all("WWW-Authenticate")) {
      if (c.find("error") != std::string::npos) detail = " (" + c + ")";
    }
    step.problem("http.credentials_rejected",
                 "the credentials were sent with a scheme the server offers and rejected" + detail,
                 sent_basic ? "check the user name and password"
                            : "check the token's expiry, "
                              "issuer and audience",
                 true);
  } else {
    step.problem("http.auth_required", "authentication is required; " + only,
                 schemes.empty() ? "the server gives no challenge: read its documentation"
                                 : "send credentials for one of: " + offered +
                                       " (--user/--password-file for Basic, --bearer-file for "
                                       "Bearer)",
                 true);
  }
}

void check_date(const HttpHead& head, const ProbeOptions& options, ProbeStep& step) {
  const std::string date = head.get("Date");
  if (date.empty()) return;
  std::tm tm{};
  if (strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) {
    step.facts.push_back("unparseable Date header: " + date);
    return;
  }
  const auto server = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(server - options.now).count();
  step.data["date_skew_seconds"] = skew;
  step.facts.push_back("server Date " + date + ": " +
                       (skew == 0 ? std::string("same second as the local clock")
                                  : std::to_string(skew < 0 ? -skew : skew) + " s " +
                                        (skew > 0 ? "ahead of" : "behind") + " the local clock"));
  if (skew > 60 || skew < -60) {
    step.problem("http.clock_skew",
                 "the server's clock and this machine's differ by " +
                     std::to_string(skew < 0 ? -skew : skew) +
                     " s: tokens and certificates near their validity edges fail on one side",
                 "synchronise both clocks with NTP (timedatectl / chronyc tracking)", false);
  }
}

void check_redirect(const HttpHead& head, const Target& target, ProbeStep& step) {
  if (head.status < 300 || head.status >= 400) return;
  const std::string location = head.get("Location");
  step.data["location"] = location;
  if (location.empty()) return;
  step.facts.push_back("redirects to " + location);
  const std::string path_only = target.path.substr(0, target.path.find('?'));
  if (!target.https() && location.rfind("https://", 0) == 0) {
    step.facts.push_back(
        "http -> https redirect: use the https:// URL directly (clients drop "
        "credentials and bodies across redirects)");
  } else if (location.ends_with(path_only + "/") ||
             location.find(path_only + "/?") != std::string::npos) {
    step.facts.push_back("the server added a trailing slash: use " + path_only + "/ directly");
  }
}

/// Error pages: a Portcullis denial, IIS substatus, nginx and Azure pages.
void check_error_page(const HttpHead& head, ProbeStep& step) {
  if (const std::string code = head.get("X-Denial-Code"); !code.empty()) {
    step.data["denial_code"] = code;
    step.data["request_id"] = head.get("X-Request-Id");
    if (const auto id = core::find_denial(code)) {
      const auto& row = core::spec(*id);
      step.problem("http.denial." + code,
                   "Portcullis denied the request: " + code + " — " + std::string(row.title) +
                       " (request id " + head.get("X-Request-Id") + ")",
                   std::string(row.hint), true);
      return;
    }
  }
  const std::string server = head.get("Server");
  if (server.find("Microsoft-Azure-Application-Gateway") != std::string::npos)
    step.facts.push_back("served by Azure Application Gateway (" + server + ")");
  if (server.find("Microsoft-IIS") != std::string::npos)
    step.facts.push_back("served by IIS (" + server + ")");
  std::string text =
      std::to_string(head.status) + " " + head.reason + "\n" + head.body.substr(0, 8192);
  const auto matches = explain::match_text(text);
  if (matches.empty()) return;
  const explain::KbEntry& e = *matches.front().entry;
  step.data["recognised"] = e.id;
  step.problem("http.page." + e.id, e.title + " [" + e.source + "]: " + e.cause, e.fix, true);
}

}  // namespace

int step_http(Connection& conn, const Target& target, const ProbeOptions& options,
              const TlsObserver* observer, ProbeStep& step, const core::ProxyUrl* forward_proxy) {
  step.name = "http";
  const bool default_port = target.port == (target.https() ? 443 : 80);
  std::string host =
      target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  if (!default_port) host += ":" + std::to_string(target.port);
  const std::string request_target =
      forward_proxy != nullptr ? target.scheme + "://" + host + target.path : target.path;
  std::string request = options.method + " " + request_target + " HTTP/1.1\r\nHost: " + host +
                        "\r\nUser-Agent: portcullis-probe\r\nAccept: */*\r\nConnection: close\r\n";
  if (forward_proxy != nullptr && !forward_proxy->user.empty())
    request +=
        "Proxy-Authorization: " + basic_credentials(forward_proxy->user, forward_proxy->password) +
        "\r\n";
  if (!options.user.empty())
    request += "Authorization: " + basic_credentials(options.user, options.password) + "\r\n";
  if (!options.bearer.empty()) request += "Authorization: Bearer " + options.bearer + "\r\n";
  request += "\r\n";
  const auto started = std::chrono::steady_clock::now();
  std::string error = conn.write_all(request, options.timeout);
  std::string raw;
  // A HEAD response announces a length but carries no body.
  const size_t body_limit = options.method == "HEAD" ? 0 : 64 * 1024;
  if (error.empty()) raw = conn.read_response(options.timeout, body_limit, error);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  step.data["ms"] = ms;
  const auto head = parse_http_head(raw);
  if (!head) {
    step.summary = "no HTTP response";
    if (observer != nullptr && observer->alert_received) {
      alert_problem(*observer->alert_received, step);
    } else {
      step.problem("http.no_response",
                   "no HTTP response" +
                       (error.empty() ? std::string(" (connection closed)") : " (" + error + ")"),
                   "the server closed the connection: read its log; a plain-HTTP port reached "
                   "with https:// or the other way round looks like this too",
                   true);
    }
    return 0;
  }
  step.summary =
      std::to_string(head->status) + " " + head->reason + " (" + std::to_string(ms) + " ms)";
  step.data["status"] = head->status;
  step.data["reason"] = head->reason;
  step.data["server"] = head->get("Server");
  if (forward_proxy != nullptr &&
      (head->status == 407 || (head->status == 401 && !head->all("Proxy-Authenticate").empty()))) {
    proxy_refusal(*head, *forward_proxy, step);
    return head->status;
  }
  check_auth(*head, options, step);
  check_date(*head, options, step);
  check_redirect(*head, target, step);
  if (head->status >= 400) {
    check_error_page(*head, step);
    if (step.status != StepStatus::Fail)
      step.problem("http.status", "the server answered " + step.summary,
                   "read the response body and the server's log", true);
  }
  return head->status;
}

}  // namespace portcullis::diag

// Probe step "url": scheme, host (FQDN or not), port, and the path as it will be sent.
#include <charconv>

#include "core/ascii.h"
#include "core/ip_network.h"
#include "diag/probe_steps.h"

namespace portcullis::diag {

void ProbeStep::problem(std::string code, std::string message, std::string fix, bool fail) {
  problems.push_back({std::move(code), std::move(message), std::move(fix)});
  if (fail) {
    status = StepStatus::Fail;
  } else if (status == StepStatus::Ok) {
    status = StepStatus::Warn;
  }
}

std::optional<Target> step_url(const ProbeOptions& options, ProbeStep& step) {
  step.name = "url";
  step.summary = options.url;
  std::string_view rest = options.url;
  const auto scheme_end = rest.find("://");
  Target t;
  if (scheme_end == std::string_view::npos) {
    step.problem("url.no_scheme", "the URL has no scheme: '" + options.url + "'",
                 "write it in full, e.g. https://" + options.url, true);
    return std::nullopt;
  }
  t.scheme = core::ascii_lower(rest.substr(0, scheme_end));
  if (t.scheme != "http" && t.scheme != "https") {
    step.problem("url.scheme", "unsupported scheme '" + t.scheme + "'", "use http:// or https://",
                 true);
    return std::nullopt;
  }
  rest.remove_prefix(scheme_end + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (const auto hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    step.problem("url.userinfo", "the URL carries credentials (user@host)",
                 "pass them with --user and --password-file; clients send URL credentials "
                 "inconsistently and they end up in logs",
                 false);
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      step.problem("url.host", "unterminated '[' in the host", "write IPv6 hosts as [::1]", true);
      return std::nullopt;
    }
    t.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (t.host.empty()) {
    step.problem("url.host", "the URL has no host", "write it as scheme://host[:port]/path", true);
    return std::nullopt;
  }
  t.port = t.https() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      step.problem("url.port", "invalid port '" + std::string(port_text) + "'",
                   "use a number from 1 to 65535", true);
      return std::nullopt;
    }
    t.port = static_cast<uint16_t>(value);
  }
  t.path = path.empty() ? "/" : std::string(path);
  if (path.empty()) step.facts.push_back("no path: requesting /");

  const bool is_ip = core::IpAddress::parse(t.host).has_value();
  const bool fqdn = t.host.find('.') != std::string::npos;
  if (!is_ip && !fqdn && t.host != "localhost") {
    step.problem("url.short_name",
                 "'" + t.host +
                     "' is not a fully qualified name: it resolves only through the "
                     "DNS search list of this machine, and certificates rarely name it",
                 "use the fully qualified name (e.g. " + t.host + ".example.com)", false);
  }
  if (is_ip && t.https()) {
    step.facts.push_back("the host is an IP address: the certificate needs an IP SAN for it");
  }
  const std::string_view path_only = std::string_view(t.path).substr(0, t.path.find('?'));
  step.facts.push_back("path as sent (case-sensitive on most servers, not on IIS): " +
                       std::string(path_only));
  if (path_only.size() > 1 && path_only.back() != '/' &&
      path_only.find('.', path_only.rfind('/')) == std::string_view::npos)
    step.facts.push_back("no trailing slash: servers often redirect a directory to " +
                         std::string(path_only) + "/");
  step.summary = t.scheme + "://" + t.authority() + t.path;
  step.data = {{"scheme", t.scheme}, {"host", t.host},        {"port", t.port},
               {"path", t.path},     {"fqdn", fqdn || is_ip}, {"ip_literal", is_ip}};
  return t;
}

}  // namespace portcullis::diag

// GET /denials/<request-id> on the admin listener.
#include "diag/admin_client.h"

#include <cctype>

#include "diag/probe_steps.h"

namespace portcullis::diag {
namespace {

/// Request ids are ours (letters, digits, '-', '_'); anything else would not be in the ring and
/// must not reach the request line.
bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

std::string first_problem(const ProbeStep& step) {
  return step.problems.empty() ? step.summary : step.problems.front().message;
}

}  // namespace

core::Result<std::optional<nlohmann::json>> fetch_denial(const std::string& admin_url,
                                                         const std::string& request_id,
                                                         std::chrono::milliseconds timeout) {
  if (!valid_request_id(request_id))
    return core::fail("not a request id: '" + request_id + "' (copy X-Request-Id)");
  ProbeOptions options;
  options.url = admin_url.find("://") == std::string::npos ? "http://" + admin_url : admin_url;
  options.timeout = timeout;
  ProbeStep url_step;
  auto target = step_url(options, url_step);
  if (!target) return core::fail("--admin: " + first_problem(url_step));
  if (target->https()) return core::fail("--admin: the admin listener speaks plain http://");
  target->path = "/denials/" + request_id;
  ProbeStep resolve;
  const auto addresses = step_resolve(target->host, target->port, resolve);
  if (addresses.empty()) return core::fail("admin listener: " + first_problem(resolve));
  ProbeStep connect;
  Connection conn;
  conn.fd = step_connect(addresses, timeout, connect);
  if (conn.fd < 0)
    return core::fail("cannot reach the admin listener at " + target->authority() + ": " +
                      first_problem(connect) + " (is admin.listen configured? see --admin)");
  const std::string request = "GET " + target->path + " HTTP/1.1\r\nHost: " + target->authority() +
                              "\r\nConnection: close\r\n\r\n";
  if (auto err = conn.write_all(request, timeout); !err.empty())
    return core::fail("admin listener: " + err);
  std::string error;
  const auto head = parse_http_head(conn.read_response(timeout, 64 * 1024, error));
  if (!head) return core::fail("the admin listener gave no HTTP answer " + error);
  if (head->status == 404) return std::optional<nlohmann::json>();
  if (head->status != 200)
    return core::fail("the admin listener answered " + std::to_string(head->status) +
                      " (an older gateway without /denials?)");
  try {
    return std::optional<nlohmann::json>(nlohmann::json::parse(head->body));
  } catch (const nlohmann::json::exception&) {
    return core::fail("the admin listener's answer is not JSON");
  }
}

}  // namespace portcullis::diag

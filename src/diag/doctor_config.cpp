// doctor: users defined in several htpasswd files (which password wins depends on the route's
// authenticator order), and routes that can never match because an earlier route's host and
// path prefix cover them (first match wins).
#include <map>

#include "authn/htpasswd.h"
#include "diag/doctor.h"
#include "route/router.h"

namespace portcullis::diag {
namespace {

/// Whether every host matching `later` also matches `earlier`.
bool host_covers(const std::string& earlier, const std::string& later) {
  if (earlier == "*") return true;
  if (later == "*") return false;
  const std::string sample = later.starts_with("*.") ? "x" + later.substr(1) : later;
  return route::host_matches(earlier, sample) &&
         (later.starts_with("*.") == earlier.starts_with("*.") || !later.starts_with("*."));
}

}  // namespace

void check_htpasswd_users(const config::Config& config, DoctorReport& report) {
  std::map<std::string, std::vector<std::string>> files_of_user;  // user -> authenticator names
  for (const auto& [name, a] : config.authenticators) {
    if (!a.basic) continue;
    auto file = authn::HtpasswdFile::load(a.basic->htpasswd.path);
    if (!file) continue;  // the validation reports it
    report.checked.push_back("users of " + a.basic->htpasswd.path);
    std::vector<std::string> seen;
    for (const auto& e : file->entries()) {
      auto& names = files_of_user[e.user];
      if (names.empty() || names.back() != name) names.push_back(name);
    }
  }
  for (const auto& [user, names] : files_of_user) {
    if (names.size() < 2) continue;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    report.findings.push_back(
        {"authn.user_in_several_files", Severity::Warning, "authenticators",
         "user '" + user + "' is defined by several basic authenticators: " + list,
         "keep each user in one htpasswd file; otherwise which password works depends on the "
         "order of a route's authn list (and a stale copy may keep working)"});
  }
}

void check_shadowed_routes(const config::Config& config, DoctorReport& report) {
  for (const auto& l : config.listeners) {
    for (size_t j = 0; j < l.routes.size(); ++j) {
      const auto& later = l.routes[j];
      for (size_t i = 0; i < j; ++i) {
        const auto& earlier = l.routes[i];
        if (!later.match.path_prefix.starts_with(earlier.match.path_prefix)) continue;
        if (!host_covers(earlier.match.host, later.match.host)) continue;
        report.findings.push_back(
            {"route.shadowed", Severity::Error, origin_text(later.origin),
             "route '" + later.name + "' (host " + later.match.host + ", prefix " +
                 later.match.path_prefix + ") can never match: route '" + earlier.name +
                 "' (host " + earlier.match.host + ", prefix " + earlier.match.path_prefix +
                 ") comes first and matches every request it would",
             "move route '" + later.name + "' before route '" + earlier.name +
                 "' (first match wins; put the more specific prefix first)"});
        break;
      }
    }
    report.checked.push_back("route order of listener " + l.name);
  }
}

}  // namespace portcullis::diag

// `portcullis doctor`: what check-config cannot tell from the file alone — certificates and CRLs
// near expiry, key file permissions for the service account, upstreams, external authenticators,
// JWKS urls and their proxies reachable (with the probe's steps, through each target's configured
// proxy), internal targets sent through a proxy, the clock against servers' Date, users in
// several htpasswd files, routes that can never match.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"

namespace portcullis::diag {

enum class Severity { Error, Warning, Info };

/// One finding: a stable code, where (YAML path and line), what, and the fix.
struct DoctorFinding {
  std::string code;  ///< e.g. "cert.expiring", "key.readable_by_others", "route.shadowed"
  Severity severity = Severity::Warning;
  std::string where;  ///< "listeners[0].tls.key: line 7" or a file
  std::string message;
  std::string fix;
};

struct DoctorOptions {
  std::string user;  ///< the service account; empty = the current user
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  std::chrono::hours expiry_window{24 * 30};
  std::chrono::milliseconds timeout{3000};  ///< per network step
};

struct DoctorReport {
  std::string file;
  std::vector<DoctorFinding> findings;
  std::vector<std::string> checked;  ///< one line per check run ("upstream app 127.0.0.1:9000")
  bool has_errors() const;
};

/// Runs every check on a loaded configuration (the caller reports load/validation errors).
void run_doctor(const config::Config& config, const DoctorOptions& options, DoctorReport& report);

// The checks, one file each (doctor_*.cpp).
void check_expiry(const config::Config& config, const DoctorOptions& options, DoctorReport& report);
void check_key_permissions(const config::Config& config, const DoctorOptions& options,
                           DoctorReport& report);
void check_htpasswd_users(const config::Config& config, DoctorReport& report);
void check_shadowed_routes(const config::Config& config, DoctorReport& report);
void check_reachability(const config::Config& config, const DoctorOptions& options,
                        DoctorReport& report);

std::string doctor_text(const DoctorReport& report);
nlohmann::ordered_json doctor_json(const DoctorReport& report);

/// "listeners[0].tls.key: line 7" (the line omitted when unknown).
std::string origin_text(const config::Origin& origin);

}  // namespace portcullis::diag

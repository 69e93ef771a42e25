// `portcullis doctor`: runs the checks and renders the findings.
#include "diag/doctor.h"

namespace portcullis::diag {
namespace {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Info:
      return "info";
  }
  return "?";
}

}  // namespace

bool DoctorReport::has_errors() const {
  for (const auto& f : findings) {
    if (f.severity == Severity::Error) return true;
  }
  return false;
}

std::string origin_text(const config::Origin& origin) {
  if (origin.line == 0) return origin.path;
  return origin.path + ": line " + std::to_string(origin.line);
}

void run_doctor(const config::Config& config, const DoctorOptions& options, DoctorReport& report) {
  check_expiry(config, options, report);
  check_key_permissions(config, options, report);
  check_htpasswd_users(config, report);
  check_shadowed_routes(config, report);
  check_reachability(config, options, report);
}

std::string doctor_text(const DoctorReport& report) {
  std::string out = "doctor " + report.file + "\n";
  for (const auto& c : report.checked) out += "  checked: " + c + "\n";
  int errors = 0, warnings = 0;
  for (const auto& f : report.findings) {
    out += std::string(severity_name(f.severity)) + " [" + f.code + "] " +
           (f.where.empty() ? "" : f.where + ": ") + f.message + "\n";
    if (!f.fix.empty()) out += "  fix: " + f.fix + "\n";
    errors += f.severity == Severity::Error;
    warnings += f.severity == Severity::Warning;
  }
  out += "result: " + std::to_string(errors) + " error(s), " + std::to_string(warnings) +
         " warning(s)\n";
  return out;
}

nlohmann::ordered_json doctor_json(const DoctorReport& report) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& f : report.findings) {
    findings.push_back({{"code", f.code},
                        {"severity", severity_name(f.severity)},
                        {"where", f.where},
                        {"message", f.message},
                        {"fix", f.fix}});
  }
  return {{"file", report.file},
          {"ok", !report.has_errors()},
          {"checked", report.checked},
          {"findings", findings}};
}

}  // namespace portcullis::diag

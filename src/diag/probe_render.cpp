// Text and JSON views of a probe report (the JSON field names are documented in
// docs/diagnostics.md).
#include "diag/probe.h"

#include "core/ascii.h"

namespace portcullis::diag {
namespace {

const char* status_name(StepStatus s) {
  switch (s) {
    case StepStatus::Ok:
      return "ok";
    case StepStatus::Warn:
      return "warn";
    case StepStatus::Fail:
      return "FAIL";
  }
  return "?";
}

}  // namespace

std::string probe_text(const ProbeReport& report) {
  std::string out = "probe " + report.url + "\n";
  for (const auto& step : report.steps) {
    out +=
        "[" + std::string(status_name(step.status)) + "] " + step.name + ": " + step.summary + "\n";
    for (const auto& f : step.facts) out += "       " + f + "\n";
    for (const auto& p : step.problems) {
      out += "       problem (" + p.code + "): " + p.message + "\n";
      if (!p.fix.empty()) out += "       fix: " + p.fix + "\n";
    }
  }
  out += report.exit_code() == 0 ? "result: OK (" + std::to_string(report.http_status) + ")\n"
         : report.http_status != 0
             ? "result: FAILED (" + std::to_string(report.http_status) + ")\n"
             : "result: FAILED at " +
                   (report.steps.empty() ? std::string("start") : report.steps.back().name) + "\n";
  return out;
}

nlohmann::ordered_json probe_json(const ProbeReport& report) {
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& step : report.steps) {
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const auto& p : step.problems)
      problems.push_back({{"code", p.code}, {"message", p.message}, {"fix", p.fix}});
    const std::string status = core::ascii_lower(status_name(step.status));
    steps.push_back({{"step", step.name},
                     {"status", status},
                     {"summary", step.summary},
                     {"facts", step.facts},
                     {"problems", problems},
                     {"data", step.data}});
  }
  return {{"url", report.url},
          {"ok", report.exit_code() == 0},
          {"status", report.http_status == 0 ? nlohmann::ordered_json(nullptr)
                                             : nlohmann::ordered_json(report.http_status)},
          {"failed_step", report.exit_code() == 0 || report.steps.empty()
                              ? nlohmann::ordered_json(nullptr)
                              : nlohmann::ordered_json(report.steps.back().name)},
          {"steps", steps}};
}

}  // namespace portcullis::diag

// Rendering the diagnostics reports for people (text) and for programs (JSON). The JSON field
// names are a stable interface (docs/diagnostics.md); the text may change.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "diag/bundle_checks.h"
#include "diag/inspect.h"
#include "diag/verify_report.h"

namespace portcullis::diag {

/// check-bundle: a summary line, the certificates, the chains, every finding with its fix, and
/// a result line.
std::string bundle_text(const BundleReport& report);
nlohmann::ordered_json bundle_json(const BundleReport& report);

/// verify: ACCEPTED/REJECTED, the code, title, reason, near-miss hint, fix, every error, and
/// the chain built certificate by certificate.
std::string verify_text(const VerifyReport& report);
nlohmann::ordered_json verify_json(const VerifyReport& report);

/// inspect: every object of the file and the chains its certificates form.
std::string inspect_text(const InspectReport& report);
nlohmann::ordered_json inspect_json(const InspectReport& report);

/// One certificate's facts as JSON (shared by the three reports).
nlohmann::ordered_json cert_json(const CertFacts& facts, std::chrono::system_clock::time_point now);

}  // namespace portcullis::diag

// Asks a running gateway's admin listener about one denial (GET /denials/<request-id>), for
// `portcullis explain --request-id`. Plain HTTP with the probe's blocking connection.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"

namespace portcullis::diag {

/// The denial record (JSON object) for `request_id`, nullopt when the gateway no longer (or
/// never) had it; an error when the admin listener cannot be asked. `admin_url` is
/// "http://host:port" (a bare "host:port" is accepted).
core::Result<std::optional<nlohmann::json>> fetch_denial(const std::string& admin_url,
                                                         const std::string& request_id,
                                                         std::chrono::milliseconds timeout);

}  // namespace portcullis::diag

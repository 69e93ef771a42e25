// Hands every denial of the access log to the admin listener's recent-denials ring
// (metrics/recent_denials.h), so `GET /denials/<request-id>` can explain it later.
#pragma once

#include "metrics/registry.h"
#include "proxy/access_log.h"

namespace portcullis::proxy {

/// Records `record` (a denial: code != "ok") in `metrics.recent_denials()`.
void remember_denial(metrics::Registry& metrics, const AccessRecord& record);

}  // namespace portcullis::proxy

// The non-fatal findings about a configuration's TLS files, for `run` to log at start-up and for
// `check-config` to report: a server certificate file holding only the leaf, internal targets
// sent through an outbound proxy (diag/proxy_warnings.h), and the warnings
// of the bundle checks on every trusted_ca and upstream tls.ca. The errors are refused by
// net/tls_context.cpp with the same checks (diag::check_server_chain,
// diag::check_trust_bundle_for_loading).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace portcullis::diag {

/// Each warning as "<yaml key>: line N: <message>". Files that cannot be read or checked give
/// no warning here: loading them is an error, reported by the validation. `with_proxy` = false
/// leaves out the internal-target warnings (doctor reports those as its own findings).
std::vector<std::string> startup_warnings(const config::Config& config, bool with_proxy = true);

}  // namespace portcullis::diag

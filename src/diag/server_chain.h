// The start-up check of a listener's certificate file (tls.cert): leaf first, then each issuer
// in order, complete up to a root or the last intermediate. The gateway refuses a broken order
// or a gap; a file holding only the leaf is a warning.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace portcullis::diag {

/// Checks `certs` (the file's certificates, in file order; `file` names it in messages).
/// Errors name the file and the certificates involved: a certificate that is not the issuer of
/// the one before it (out of order, or an intermediate missing), a certificate after the root.
/// On success, the warnings (the file holds only a leaf that is not self-signed).
core::Result<std::vector<std::string>> check_server_chain(const std::vector<pki::X509Ptr>& certs,
                                                          const std::string& file);

}  // namespace portcullis::diag

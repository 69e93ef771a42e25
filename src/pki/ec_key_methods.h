// Process-wide switch that makes OpenSSL 3.0 decode EC public keys with its built-in EC code
// instead of rebuilding a provider decoder chain for every key (the largest single cost of a
// full mTLS handshake: every client certificate on the wire carries one). See ec_key_methods.cpp.
#pragma once

#include <string>

namespace portcullis::pki {

/// Installs, once per process, an ENGINE that claims the EC key type with OpenSSL's own built-in
/// EC method. From then on certificates' EC keys are decoded and used by the built-in EC code
/// (same maths, no per-key provider decoder chain). Idempotent and thread-safe; returns false
/// (and changes nothing) if OpenSSL refused, in which case the provider path stays in use.
bool install_ec_key_methods();

/// True once install_ec_key_methods() succeeded in this process.
bool ec_key_methods_installed();

}  // namespace portcullis::pki

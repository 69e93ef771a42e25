// The OpenSSL error-queue reader and small ownership helpers declared in openssl_ptr.h.
// Errors are drained (not peeked) so a later failure never reports a stale reason.
#include "pki/openssl_ptr.h"

#include <openssl/err.h>

namespace portcullis::pki {

X509StackPtr make_x509_stack(const std::vector<X509Ptr>& certs) {
  X509StackPtr stack(sk_X509_new_null());
  if (!stack) return nullptr;
  for (const auto& cert : certs) {
    if (!cert) continue;
    // X509_add_cert with UP_REF takes its own reference and frees nothing on failure.
    if (X509_add_cert(stack.get(), cert.get(), X509_ADD_FLAG_UP_REF) != 1) return nullptr;
  }
  return stack;
}

std::string openssl_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

}  // namespace portcullis::pki

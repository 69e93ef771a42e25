// What each TLS alert a server sends means for the client that receives it, and its fix.
#include <openssl/ssl.h>

#include "diag/probe_steps.h"

namespace portcullis::diag {

std::string alert_meaning(int description) {
  switch (description) {
    case 116:  // certificate_required (TLS 1.3)
      return "the server requires a client certificate and none was sent";
    case 48:
      return "the server does not trust the issuer of the client certificate (unknown_ca)";
    case 42:
      return "the server rejected the client certificate (bad_certificate)";
    case 45:
      return "the server says the client certificate has expired";
    case 44:
      return "the server says the client certificate is revoked";
    case 43:
      return "the server does not support the client certificate's type";
    case 46:
      return "the server could not verify the client certificate (certificate_unknown)";
    case 49:
      return "the server refused access (access_denied)";
    case 40:
      return "no common TLS version/cipher, or (TLS 1.2) a required client certificate was not "
             "sent";
    case 70:
      return "the server does not accept this TLS version";
    case 112:
      return "the server does not know the host name sent in SNI";
    case 51:
      return "the server could not verify the client's signature (wrong key for the certificate)";
    default:
      return SSL_alert_desc_string_long(description);
  }
}

void alert_problem(int description, ProbeStep& step) {
  const std::string name = SSL_alert_desc_string_long(description);
  step.data["alert_received"] = {{"code", description}, {"name", name}};
  std::string fix;
  switch (description) {
    case 116:
    case 40:
      fix =
          "pass --cert and --key with a certificate issued by a CA the server accepts (the "
          "CertificateRequest lists them)";
      break;
    case 48:
    case 42:
    case 46:
      fix =
          "send the full chain (leaf then intermediates in --cert) and use a certificate from "
          "a CA the server trusts; `portcullis verify --cert C --ca SERVER_CA` shows why";
      break;
    case 45:
      fix = "renew the client certificate (and check the clocks)";
      break;
    case 112:
      fix = "use the host name the server is configured for";
      break;
    default:
      fix = "read the server's log for the reason of the alert";
  }
  step.problem("tls.alert." + std::to_string(description),
               "the server sent the alert '" + name + "' (" + std::to_string(description) +
                   "): " + alert_meaning(description),
               fix, true);
}

}  // namespace portcullis::diag

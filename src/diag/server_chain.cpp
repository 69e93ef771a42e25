// Server certificate file order and completeness. Clients build the chain from what the server
// sends, in the order sent; many (Java, Go, older Windows, every curl without AIA fetching) fail
// on a gap or on an order they cannot follow, so the gateway refuses both at start-up.
#include "diag/server_chain.h"

#include <fmt/format.h>

#include "diag/chains.h"
#include "pki/hints.h"

namespace portcullis::diag {
namespace {

std::string label(const std::vector<pki::X509Ptr>& certs, std::size_t i) {
  return fmt::format("certificate {} ({})", i + 1, pki::subject_text(certs[i].get()));
}

}  // namespace

core::Result<std::vector<std::string>> check_server_chain(const std::vector<pki::X509Ptr>& certs,
                                                          const std::string& file) {
  std::vector<std::string> warnings;
  if (certs.empty()) return core::fail(fmt::format("\"{}\": no certificate found", file));
  for (std::size_t i = 1; i < certs.size(); ++i) {
    X509* child = certs[i - 1].get();
    X509* next = certs[i].get();
    if (self_signed(child)) {
      // SECURITY: nothing may follow the root; a client could pick up the wrong certificates.
      return core::fail(fmt::format(
          "\"{}\": {} follows the self-signed root {}: the file must be the leaf, then each "
          "issuer in order, ending at most with the root",
          file, label(certs, i), label(certs, i - 1)));
    }
    if (issued_by(child, next)) continue;
    // Is the issuer elsewhere in the file (wrong order) or absent (a gap)?
    for (std::size_t j = 0; j < certs.size(); ++j) {
      if (j != i && j != i - 1 && issued_by(child, certs[j].get())) {
        return core::fail(fmt::format(
            "\"{}\": certificates out of order: the issuer of {} is {}, but {} comes next; put "
            "the leaf first, then each certificate's issuer right after it",
            file, label(certs, i - 1), label(certs, j), label(certs, i)));
      }
    }
    const bool same_name =
        X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(next)) == 0;
    if (same_name) {
      return core::fail(fmt::format(
          "\"{}\": {} is named like the issuer of {} but did not sign it (a re-keyed or "
          "renewed CA certificate?): use the intermediate that issued {}",
          file, label(certs, i), label(certs, i - 1), pki::subject_text(child)));
    }
    return core::fail(fmt::format(
        "\"{}\": the chain is incomplete: {} is issued by '{}', which is not in the file ({} "
        "comes next); add that intermediate right after it",
        file, label(certs, i - 1), pki::issuer_text(child), label(certs, i)));
  }
  if (certs.size() == 1 && !self_signed(certs.front().get())) {
    warnings.push_back(fmt::format(
        "\"{}\": holds only the leaf {}: clients that do not already have its issuer '{}' cannot "
        "verify the server; append the intermediate certificate(s) after the leaf",
        file, label(certs, 0), pki::issuer_text(certs.front().get())));
  }
  return warnings;
}

}  // namespace portcullis::diag

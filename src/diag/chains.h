// How the certificates of one file link up into chains (issuer by name, key identifier and
// signature): for check-bundle's chain findings, inspect's "chains it forms", and the
// start-up check that a server certificate file is in order and complete.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <string>
#include <vector>

namespace portcullis::diag {

/// Whether `parent` issued `child`: subject/issuer names and key identifiers agree
/// (X509_check_issued) and `parent`'s key verifies `child`'s signature.
bool issued_by(X509* child, X509* parent);

/// Whether `cert` is self-signed (names agree and its own key verifies its signature).
bool self_signed(X509* cert);

/// One path through the file, from a certificate that issues nothing in it up to its top.
struct Chain {
  std::vector<std::size_t> members;  ///< indexes into the input, bottom first
  bool ends_at_root = false;         ///< the top is self-signed
  std::string missing_issuer;        ///< issuer DN of the top when it is not a root
};

/// The per-certificate links of a set.
struct Links {
  std::vector<long> issuer;        ///< index of the issuer within the set; -1 none or self
  std::vector<long> duplicate_of;  ///< index of an earlier identical certificate; -1 none
  std::vector<bool> root;          ///< self-signed
};

/// Links every certificate to its issuer within `certs` (duplicates are linked to nothing).
Links link_certificates(const std::vector<X509*>& certs);

/// Every path bottom-up (duplicates left out), in input order of their bottoms.
std::vector<Chain> chains_of(const std::vector<X509*>& certs, const Links& links);

/// The number of separate trees (distinct tops) among `chains`.
std::size_t tree_count(const std::vector<Chain>& chains);

}  // namespace portcullis::diag

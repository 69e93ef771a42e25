// Chain linking within one file. Quadratic in the number of certificates, which is fine for the
// files it sees (bundles of at most a few hundred CAs, checked once).
#include "diag/chains.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <set>

#include "pki/hints.h"
#include "pki/openssl_ptr.h"

namespace portcullis::diag {

bool issued_by(X509* child, X509* parent) {
  if (child == nullptr || parent == nullptr) return false;
  ERR_set_mark();
  bool ok = X509_check_issued(parent, child) == X509_V_OK;
  if (ok) {
    EVP_PKEY* key = X509_get0_pubkey(parent);
    ok = key != nullptr && X509_verify(child, key) == 1;
  }
  ERR_pop_to_mark();
  return ok;
}

bool self_signed(X509* cert) {
  if (cert == nullptr) return false;
  ERR_set_mark();
  const bool ok = pki::is_self_signed(cert, /*check_signature=*/true);
  ERR_pop_to_mark();
  return ok;
}

Links link_certificates(const std::vector<X509*>& certs) {
  const std::size_t n = certs.size();
  Links links;
  links.issuer.assign(n, -1);
  links.duplicate_of.assign(n, -1);
  links.root.assign(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (links.duplicate_of[j] < 0 && X509_cmp(certs[i], certs[j]) == 0) {
        links.duplicate_of[i] = static_cast<long>(j);
        break;
      }
    }
    links.root[i] = self_signed(certs[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (links.duplicate_of[i] >= 0 || links.root[i]) continue;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i || links.duplicate_of[j] >= 0) continue;
      if (issued_by(certs[i], certs[j])) {
        links.issuer[i] = static_cast<long>(j);
        break;
      }
    }
  }
  return links;
}

std::vector<Chain> chains_of(const std::vector<X509*>& certs, const Links& links) {
  const std::size_t n = certs.size();
  std::vector<bool> issues_something(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    if (links.issuer[i] >= 0) issues_something[static_cast<std::size_t>(links.issuer[i])] = true;
  }
  std::vector<Chain> out;
  std::vector<bool> covered(n, false);
  const auto walk = [&](std::size_t bottom) {
    Chain chain;
    std::set<std::size_t> seen;
    std::size_t cur = bottom;
    for (;;) {
      chain.members.push_back(cur);
      covered[cur] = true;
      seen.insert(cur);
      const long up = links.issuer[cur];
      if (up < 0 || seen.contains(static_cast<std::size_t>(up))) break;  // top, or a loop
      cur = static_cast<std::size_t>(up);
    }
    const std::size_t top = chain.members.back();
    chain.ends_at_root = links.root[top];
    if (!chain.ends_at_root) chain.missing_issuer = pki::issuer_text(certs[top]);
    out.push_back(std::move(chain));
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (links.duplicate_of[i] < 0 && !issues_something[i]) walk(i);
  }
  // Certificates only reachable through a loop of cross-signatures: start from any of them.
  for (std::size_t i = 0; i < n; ++i) {
    if (links.duplicate_of[i] < 0 && !covered[i]) walk(i);
  }
  return out;
}

std::size_t tree_count(const std::vector<Chain>& chains) {
  std::set<std::size_t> tops;
  for (const Chain& c : chains) {
    if (!c.members.empty()) tops.insert(c.members.back());
  }
  return tops.size();
}

}  // namespace portcullis::diag

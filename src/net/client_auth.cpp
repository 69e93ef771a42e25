// Client-certificate verification inside the handshake (behind the verdict cache), verdict
// storage per connection, and the verdict of a resumed session.
#include "net/client_auth.h"

#include <openssl/x509_vfy.h>

#include <chrono>

#include "pki/cert_files.h"

namespace portcullis::net {
namespace {

using Verdict = pki::Verdict;
using VerdictPtr = std::shared_ptr<const Verdict>;

void delete_verdict(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<VerdictPtr*>(ptr);
}

// Index of the SSL ex_data slot that owns a heap-allocated VerdictPtr.
int verdict_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, delete_verdict);
  return index;
}

void store_verdict(SSL* ssl, const VerdictPtr& verdict) {
  delete static_cast<VerdictPtr*>(SSL_get_ex_data(ssl, verdict_index()));
  SSL_set_ex_data(ssl, verdict_index(), new VerdictPtr(verdict));
}

VerdictPtr stored_verdict(SSL* ssl) {
  auto* p = static_cast<VerdictPtr*>(SSL_get_ex_data(ssl, verdict_index()));
  return p ? *p : nullptr;
}

}  // namespace

int verdict_alert_error(const Verdict& verdict) {
  if (verdict.openssl_error != 0) return verdict.openssl_error;
  using core::DenialCode;
  switch (verdict.code.value_or(DenialCode::MtlsCertInvalid)) {
    case DenialCode::MtlsPurposeInvalid:
      return X509_V_ERR_INVALID_PURPOSE;
    case DenialCode::MtlsIssuerUntrusted:
      return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    case DenialCode::MtlsCertRevoked:
      return X509_V_ERR_CERT_REVOKED;
    default:
      return X509_V_ERR_CERT_REJECTED;
  }
}

VerdictPtr verdict_for_chain(const ClientAuth& auth, const std::vector<X509*>& presented) {
  // A chain already verified (same DER, same store and policy, still within every validity
  // bound) gets its verdict from the cache: only successes are cached (see VerdictCache).
  const auto now = std::chrono::system_clock::now();
  std::string key = auth.cache ? pki::chain_cache_key(presented) : std::string();
  VerdictPtr verdict = auth.cache ? auth.cache->find(key, now) : nullptr;
  if (!verdict) {
    verdict =
        std::make_shared<const Verdict>(pki::verify_chain(*auth.store, presented, auth.policy));
    if (auth.cache) auth.cache->insert(std::move(key), verdict, presented, now);
  }
  return verdict;
}

namespace {

// SSL_CTX_set_cert_verify_callback: replaces X509_verify_cert for the peer chain.
int verify_peer_chain(X509_STORE_CTX* x509_ctx, void* arg) {
  const auto& auth = *static_cast<const ClientAuth*>(arg);
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(x509_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  // The untrusted stack is the chain exactly as the client sent it, leaf first.
  std::vector<X509*> presented;
  if (STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(x509_ctx)) {
    for (std::size_t i = 0; i < sk_X509_num(sent); ++i) {
      presented.push_back(sk_X509_value(sent, i));
    }
  }
  if (presented.empty()) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(x509_ctx)) presented.push_back(leaf);
  }
  VerdictPtr verdict = verdict_for_chain(auth, presented);
  const bool ok = verdict->ok();
  const int error = ok ? X509_V_OK : verdict_alert_error(*verdict);
  if (ssl) store_verdict(ssl, verdict);
  if (ok) {
    X509_STORE_CTX_set_error(x509_ctx, X509_V_OK);
    return 1;
  }
  X509_STORE_CTX_set_error(x509_ctx, error);
  // SECURITY: in the non-strict modes the handshake completes and the pipeline denies at the
  // HTTP layer with the explained code; the verdict travels with the connection.
  return refuses_in_handshake(auth) ? 0 : 1;
}

}  // namespace

core::Result<std::unique_ptr<ClientAuth>> make_client_auth(const config::ClientAuthConfig& config) {
  auto auth = std::make_unique<ClientAuth>();
  auth->mode = config.mode;
  if (config.mode == config::ClientAuthMode::Off) return auth;
  if (!config.trusted_ca) {
    return core::fail("missing trusted_ca", config.origin.path, config.origin.line);
  }
  auto store = pki::TrustStore::load(config.trusted_ca->path,
                                     config.intermediates ? &config.intermediates->path : nullptr,
                                     config.crl ? &config.crl->path : nullptr);
  if (!store) {
    // The store says which input failed; name that YAML key.
    const auto& where = store.error().where;
    const config::FileRef* ref = &*config.trusted_ca;
    if (where == pki::TrustStore::input_name(pki::TrustStore::Input::Intermediates) &&
        config.intermediates) {
      ref = &*config.intermediates;
    } else if (where == pki::TrustStore::input_name(pki::TrustStore::Input::Crl) && config.crl) {
      ref = &*config.crl;
    }
    return core::fail(store.error().message, ref->origin.path, ref->origin.line);
  }
  auth->store = std::move(*store);
  auth->policy.max_depth = config.verify_depth;
  auth->policy.require_client_auth_eku = config.require_client_auth_eku;
  auth->policy.verify_issuer_dn = config.verify_issuer_dn;
  auth->policy.purpose = pki::VerifyPolicy::Client;
  // RFC 5280 strictness (e.g. a missing authority key identifier) would refuse certificates
  // that nginx, HAProxy and Envoy accept; the gateway verifies like them. `portcullis verify`
  // can still report the strict findings.
  auth->policy.x509_strict = false;
  auth->missing = std::make_shared<const Verdict>(pki::verdict_no_certificate(*auth->store));
  auth->cache = std::make_shared<pki::VerdictCache>(*auth->store);
  return auth;
}

void install_client_auth(SSL_CTX* ctx, const ClientAuth& auth) {
  if (auth.mode == config::ClientAuthMode::Off) return;
  int mode = SSL_VERIFY_PEER;
  if (refuses_in_handshake(auth)) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, verify_peer_chain, const_cast<ClientAuth*>(&auth));
  SSL_CTX_set_client_CA_list(ctx, auth.store->client_ca_list().release());
}

VerdictPtr connection_verdict(SSL* ssl, const ClientAuth& auth) {
  if (auto v = stored_verdict(ssl)) return v;
  // SECURITY: a resumed session's verdict is derived again from the chain the session holds
  // (inside the ticket, under this listener's ticket key): the verdict is the one the same
  // chain gets now, from the same engine and cache, never one carried over from elsewhere.
  if (SSL_session_reused(ssl) == 1) {
    if (STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl)) {
      std::vector<X509*> presented;
      for (std::size_t i = 0; i < sk_X509_num(chain); ++i) {
        presented.push_back(sk_X509_value(chain, i));
      }
      if (!presented.empty()) return verdict_for_chain(auth, presented);
    }
  }
  return auth.missing;
}

std::string peer_certificate_pem(SSL* ssl) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  return leaf ? pki::to_pem(leaf) : std::string();
}

}  // namespace portcullis::net

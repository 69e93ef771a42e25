// Client-certificate verification inside the handshake, verdict storage per connection, and
// verdict round-trip through session tickets.
#include "net/client_auth.h"

#include <openssl/x509_vfy.h>

#include <charconv>
#include <mutex>

#include "pki/cert_files.h"

namespace portcullis::net {
namespace {

using Verdict = pki::Verdict;
using VerdictPtr = std::shared_ptr<const Verdict>;

// Index of the SSL ex_data slot that owns a heap-allocated VerdictPtr.
int verdict_index() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<VerdictPtr*>(ptr);
      });
  return index;
}

void store_verdict(SSL* ssl, VerdictPtr verdict) {
  delete static_cast<VerdictPtr*>(SSL_get_ex_data(ssl, verdict_index()));
  SSL_set_ex_data(ssl, verdict_index(), new VerdictPtr(std::move(verdict)));
}

VerdictPtr stored_verdict(SSL* ssl) {
  auto* p = static_cast<VerdictPtr*>(SSL_get_ex_data(ssl, verdict_index()));
  return p ? *p : nullptr;
}

bool strict(const ClientAuth& auth) {
  return auth.mode == config::ClientAuthMode::RequireHandshake;
}

/// The OpenSSL error whose alert best describes `verdict` (ssl_verify_alarm_type picks the alert:
/// certificate_expired, unknown_ca, certificate_revoked, unsupported_certificate, ...).
int alert_error(const Verdict& verdict) {
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

// SSL_CTX_set_cert_verify_callback: replaces X509_verify_cert for the peer chain.
int verify_peer_chain(X509_STORE_CTX* x509_ctx, void* arg) {
  const auto& auth = *static_cast<const ClientAuth*>(arg);
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(x509_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  // The untrusted stack is the chain exactly as the client sent it, leaf first.
  std::vector<X509*> presented;
  if (STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(x509_ctx)) {
    for (int i = 0; i < sk_X509_num(sent); ++i) presented.push_back(sk_X509_value(sent, i));
  }
  if (presented.empty()) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(x509_ctx)) presented.push_back(leaf);
  }
  auto verdict =
      std::make_shared<const Verdict>(pki::verify_chain(*auth.store, presented, auth.policy));
  const bool ok = verdict->ok();
  const int error = ok ? X509_V_OK : alert_error(*verdict);
  if (ssl) store_verdict(ssl, std::move(verdict));
  if (ok) {
    X509_STORE_CTX_set_error(x509_ctx, X509_V_OK);
    return 1;
  }
  X509_STORE_CTX_set_error(x509_ctx, error);
  // SECURITY: in the non-strict modes the handshake completes and the pipeline denies at the
  // HTTP layer with the explained code; the verdict travels with the connection.
  return strict(auth) ? 0 : 1;
}

// ---- verdicts in session tickets ---------------------------------------------------------------
// A resumed handshake does not verify the chain again, so the ticket carries the verdict as
// lines: "v2", ssl_client_verify, depth, reason, hint. The leaf itself is in the session already.

std::string one_line(std::string_view text) {
  std::string out(text.substr(0, 2048));
  for (auto& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string encode(const Verdict& v) {
  return "v2\n" + v.ssl_client_verify() + "\n" + std::to_string(v.depth) + "\n" +
         one_line(v.reason) + "\n" + one_line(v.hint);
}

VerdictPtr decode(std::string_view data, X509* leaf) {
  std::vector<std::string_view> fields;
  while (fields.size() < 5) {
    const auto nl = data.find('\n');
    fields.push_back(data.substr(0, nl));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  if (fields.size() != 5 || fields[0] != "v2") return nullptr;
  const auto status = fields[1];
  auto v = std::make_shared<Verdict>();
  if (status == "SUCCESS") {
    v->outcome = Verdict::Outcome::Success;
  } else if (status.starts_with("FAILED:")) {
    const auto code = core::find_denial(status.substr(7));
    if (!code) return nullptr;
    v->outcome = Verdict::Outcome::Failed;
    v->code = *code;
  } else {
    return nullptr;
  }
  std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), v->depth);
  v->reason = std::string(fields[3]);
  v->hint = std::string(fields[4]);
  if (leaf != nullptr) {
    v->leaf = pki::summarize(leaf);
  } else if (v->outcome == Verdict::Outcome::Success) {
    return nullptr;  // SECURITY: a success without its certificate is not a success
  }
  return v;
}

int generate_ticket(SSL* ssl, void*) {
  if (const auto verdict = stored_verdict(ssl)) {
    const std::string data = encode(*verdict);
    SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), data.data(), data.size());
  }
  return 1;
}

SSL_TICKET_RETURN decrypt_ticket(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                 SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      void* data = nullptr;
      size_t len = 0;
      VerdictPtr verdict;
      if (SSL_SESSION_get0_ticket_appdata(session, &data, &len) == 1 && data != nullptr) {
        verdict = decode({static_cast<const char*>(data), len}, SSL_SESSION_get0_peer(session));
      }
      // SECURITY: a ticket without a usable verdict gets a full handshake, never a pass.
      if (!verdict) return SSL_TICKET_RETURN_IGNORE_RENEW;
      store_verdict(ssl, std::move(verdict));
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
      return SSL_TICKET_RETURN_ABORT;
    default:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
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
  return auth;
}

void install_client_auth(SSL_CTX* ctx, const ClientAuth& auth) {
  if (auth.mode == config::ClientAuthMode::Off) return;
  int mode = SSL_VERIFY_PEER;
  if (strict(auth)) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, verify_peer_chain, const_cast<ClientAuth*>(&auth));
  SSL_CTX_set_client_CA_list(ctx, auth.store->client_ca_list().release());
  // Session IDs would resume without the verdict; tickets carry it.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_ticket_cb(ctx, generate_ticket, decrypt_ticket, nullptr);
}

VerdictPtr connection_verdict(SSL* ssl, const ClientAuth& auth) {
  if (auto v = stored_verdict(ssl)) return v;
  return auth.missing;
}

std::string peer_certificate_pem(SSL* ssl) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  return leaf ? pki::to_pem(leaf) : std::string();
}

}  // namespace portcullis::net

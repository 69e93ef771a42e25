// Server and upstream TLS context construction on top of pki/ loaders.
#include "net/tls_context.h"

#include <openssl/err.h>

#include <unistd.h>

#include "core/log.h"
#include "diag/bundle_checks.h"
#include "diag/server_chain.h"
#include "pki/cert_files.h"
#include "pki/openssl_ptr.h"

namespace portcullis::net {
namespace {

namespace ssl = boost::asio::ssl;

core::Error at(const config::Origin& origin, std::string message) {
  return core::Error{std::move(message), origin.path, origin.line};
}

std::unique_ptr<ssl::context> base_context(ssl::context::method method) {
  auto ctx = std::make_unique<ssl::context>(method);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  return ctx;
}

/// The machine's CA bundle: AWS-LC's built-in default directory is its own install prefix, not
/// the distribution's store, so the usual bundle locations are loaded explicitly (the library's
/// defaults, SSL_CERT_FILE and SSL_CERT_DIR included, still apply too).
core::Result<void> load_system_trust_store(SSL_CTX* ctx) {
  static constexpr const char* kBundles[] = {
      "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine
      "/etc/pki/tls/certs/ca-bundle.crt",                   // RHEL, Fedora
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
      "/etc/ssl/ca-bundle.pem",                             // SUSE
  };
  SSL_CTX_set_default_verify_paths(ctx);
  ERR_clear_error();  // a missing default location is not an error by itself
  for (const char* bundle : kBundles) {
    if (::access(bundle, R_OK) != 0) continue;
    if (SSL_CTX_load_verify_locations(ctx, bundle, nullptr) == 1) return {};
    return core::fail(std::string("cannot load the system trust store ") + bundle + ": " +
                      pki::openssl_errors());
  }
  // None of the usual files: the library's defaults are all there is, and an upstream it cannot
  // verify is refused at its handshake (upstream.tls_failed, naming the issuer).
  return {};
}

}  // namespace

core::Result<std::unique_ptr<ssl::context>> make_server_context(
    const config::ServerTlsConfig& tls) {
  auto certs = pki::load_certificates(tls.cert.path);
  if (!certs) return std::unexpected(at(tls.cert.origin, certs.error().message));
  auto key = pki::load_private_key(tls.key.path);
  if (!key) return std::unexpected(at(tls.key.origin, key.error().message));
  if (!pki::key_matches_certificate(key->get(), certs->front().get())) {
    return std::unexpected(
        at(tls.key.origin, "the key does not match the first certificate of \"" + tls.cert.path +
                               "\" (" + pki::summarize(certs->front().get()).subject + ")"));
  }
  // SECURITY: a chain out of order or with a gap fails every client that cannot repair it;
  // refuse to start. (Warnings, such as a leaf-only file: diag::startup_warnings.)
  if (auto chain = diag::check_server_chain(*certs, tls.cert.path); !chain) {
    return std::unexpected(at(tls.cert.origin, chain.error().message));
  }
  if (tls.client_auth && tls.client_auth->mode != config::ClientAuthMode::Off &&
      tls.client_auth->trusted_ca) {
    // SECURITY: the check-bundle errors refuse a trust bundle before TrustStore::load.
    const config::FileRef& ca = *tls.client_auth->trusted_ca;
    if (auto checked = diag::check_trust_bundle_for_loading(ca.path); !checked) {
      return std::unexpected(at(ca.origin, checked.error().message));
    }
  }
  auto ctx = base_context(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_use_certificate(native, certs->front().get()) != 1 ||
      SSL_CTX_use_PrivateKey(native, key->get()) != 1) {
    return std::unexpected(at(tls.cert.origin, "cannot use certificate: " + pki::openssl_errors()));
  }
  for (std::size_t i = 1; i < certs->size(); ++i) {
    // add1: the context takes its own reference.
    if (SSL_CTX_add1_chain_cert(native, (*certs)[i].get()) != 1) {
      return std::unexpected(
          at(tls.cert.origin,
             "cannot add chain certificate " + std::to_string(i) + ": " + pki::openssl_errors()));
    }
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return std::unexpected(at(tls.key.origin, "key check failed: " + pki::openssl_errors()));
  }
  static constexpr unsigned char kSessionContext[] = "portcullis";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  // Resumption by tickets encrypted under this context's own random key, so a session resumes
  // only on the listener that made it. One TLS 1.3 ticket per handshake instead of two: a client
  // resumes with one, and each costs an encryption of the session.
  SSL_CTX_set_num_tickets(native, 1);
  return ctx;
}

core::Result<std::unique_ptr<ssl::context>> make_upstream_context(
    const config::UpstreamTlsConfig& tls) {
  auto ctx = base_context(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (tls.ca) {
    // SECURITY: the upstream trust bundle gets the check-bundle errors too.
    if (auto checked = diag::check_trust_bundle_for_loading(tls.ca->path); !checked) {
      return std::unexpected(at(tls.ca->origin, checked.error().message));
    }
    auto certs = pki::load_certificates(tls.ca->path);
    if (!certs) return std::unexpected(at(tls.ca->origin, certs.error().message));
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (auto& c : *certs) {
      if (X509_STORE_add_cert(store, c.get()) != 1) {
        return std::unexpected(at(tls.ca->origin, "cannot add CA: " + pki::openssl_errors()));
      }
    }
  } else if (auto loaded = load_system_trust_store(native); !loaded) {
    return std::unexpected(at(tls.origin, loaded.error().message));
  }
  return ctx;
}

}  // namespace portcullis::net

// Probe step "tls": the handshake (protocol, cipher), the server chain as sent (order, missing
// intermediate, expiry, hostname, trust — verified with pki::verify_chain), the CertificateRequest
// (CA names and whether the client certificate's issuer is among them) and alerts received.
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include "core/ip_network.h"
#include "diag/cert_facts.h"
#include "diag/probe_steps.h"
#include "diag/server_chain.h"
#include "pki/cert_files.h"
#include "pki/verify.h"

namespace portcullis::diag {
namespace {

constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

void on_message(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                SSL* ssl, void* arg) {
  auto* observer = static_cast<TlsObserver*>(arg);
  if (observer == nullptr || len < 1) return;
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HANDSHAKE && write_p == 0 && bytes[0] == SSL3_MT_CERTIFICATE_REQUEST)
    observer->certificate_requested = true;
  if (content_type == SSL3_RT_ALERT && len >= 2 && bytes[0] == SSL3_AL_FATAL) {
    auto& slot = write_p == 0 ? observer->alert_received : observer->alert_sent;
    if (!slot) slot = bytes[1];
  }
  (void)ssl;
}

std::string name_text(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

/// The server chain's verification and the fix for each way it fails.
void check_server_certificates(const std::vector<pki::X509Ptr>& chain, const Target& target,
                               const ProbeOptions& options, ProbeStep& step) {
  nlohmann::ordered_json sent = nlohmann::ordered_json::array();
  for (size_t i = 0; i < chain.size(); ++i) {
    const auto s = pki::summarize(chain[i].get());
    sent.push_back({{"subject", s.subject},
                    {"issuer", s.issuer},
                    {"not_after", s.not_after},
                    {"role", role_of(s)},
                    {"validity", validity_phrase(s, options.now)}});
    step.facts.push_back("sent [" + std::to_string(i) + "] " + s.subject + " (issuer " + s.issuer +
                         "; " + validity_phrase(s, options.now) + ")");
  }
  step.data["chain_sent"] = sent;
  if (chain.empty()) {
    step.problem("tls.no_certificate", "the server sent no certificate",
                 "configure a certificate on the server", true);
    return;
  }
  if (auto order = check_server_chain(chain, "the server's chain"); !order) {
    step.problem("tls.chain_order", order.error().message,
                 "the server's certificate file must hold the leaf first, then each intermediate "
                 "in order up to (not necessarily including) the root",
                 true);
  }
  // Trust: --ca or the system bundle.
  const std::string ca_file = options.ca.empty() ? kSystemBundle : options.ca;
  step.data["trust"] = ca_file;
  auto cas = pki::load_certificates(ca_file);
  if (!cas) {
    step.problem("tls.ca_unreadable", "cannot read the CA file: " + cas.error().message,
                 "pass a readable PEM file with --ca", true);
    return;
  }
  pki::TrustStore::Inputs inputs;
  inputs.trusted = std::move(*cas);
  inputs.trusted_name = ca_file;
  auto store = pki::TrustStore::from_certificates(std::move(inputs));
  if (!store) {
    step.problem("tls.ca_invalid", "the CA file is not usable: " + store.error().message,
                 "pass a file with the root CA certificate(s) with --ca", true);
    return;
  }
  std::vector<X509*> presented;
  for (const auto& c : chain) presented.push_back(c.get());
  pki::VerifyPolicy policy;
  policy.purpose = pki::VerifyPolicy::Server;
  policy.require_client_auth_eku = false;
  policy.x509_strict = false;
  policy.max_depth = 8;
  const auto verdict = pki::verify_chain(**store, presented, policy);
  const auto leaf = pki::summarize(chain.front().get());
  if (verdict.ok()) {
    step.facts.push_back("chain verifies against " + ca_file);
  } else {
    using core::DenialCode;
    DenialCode code = verdict.code.value_or(DenialCode::MtlsCertInvalid);
    std::string what = verdict.reason;
    std::string fix;
    std::string id = "tls.server_untrusted";
    // Servers rarely send their root: a chain that stops at a CA whose issuer is unknown means
    // an untrusted root; one that stops at the leaf means a missing intermediate.
    const auto last = pki::summarize(chain.back().get());
    if (code == DenialCode::MtlsChainIncomplete && last.is_ca)
      code = DenialCode::MtlsIssuerUntrusted;
    if (code == DenialCode::MtlsChainIncomplete) {
      id = "tls.chain_incomplete";
      what = "the server does not send the intermediate certificate '" + last.issuer +
             "' that issued its certificate (" + verdict.reason + ")";
      fix =
          "append the intermediate CA certificate(s) to the server's certificate file, after "
          "the leaf; browsers may hide this by caching intermediates, other clients fail";
    } else if (code == DenialCode::MtlsIssuerUntrusted || code == DenialCode::MtlsSelfSigned) {
      id = "tls.untrusted_root";
      what = "the server's chain ends at '" + last.issuer + "', which " + ca_file +
             " does not hold (" + verdict.reason + ")";
      fix = options.ca.empty()
                ? "pass the server's root CA with --ca FILE (a private CA, or a TLS-inspecting "
                  "proxy's root), or install it in the system store"
                : "the root of the server's chain is not in " + options.ca +
                      ": add it, or check you were given the right CA";
    } else if (code == DenialCode::MtlsCertExpired || code == DenialCode::MtlsCertNotYetValid) {
      id = code == DenialCode::MtlsCertExpired ? "tls.expired" : "tls.not_yet_valid";
      what =
          "a certificate of the server's chain is outside its validity period: " + verdict.reason +
          (verdict.depth >= 0 ? " at depth " + std::to_string(verdict.depth) : std::string());
      fix = "renew the certificate on the server (and check this machine's clock)";
    } else {
      fix = "run `portcullis verify` on the server's chain for the details";
    }
    step.problem(id, what, fix, true);
  }
  // The host name: the URL's host must be in the leaf's SANs.
  X509* leaf_cert = chain.front().get();
  const bool is_ip = core::IpAddress::parse(target.host).has_value();
  const int host_ok =
      is_ip ? X509_check_ip_asc(leaf_cert, target.host.c_str(), 0)
            : X509_check_host(leaf_cert, target.host.c_str(), target.host.size(), 0, nullptr);
  step.data["hostname_matches"] = host_ok == 1;
  if (host_ok != 1) {
    std::string sans;
    for (const auto& s : leaf.sans) sans += (sans.empty() ? "" : ", ") + s;
    step.problem("tls.hostname_mismatch",
                 "the certificate is not valid for '" + target.host + "'; it names: " +
                     (sans.empty() ? "no subjectAltName (only " + leaf.subject + ")" : sans),
                 "connect with a name from that list, or reissue the certificate with '" +
                     target.host + "' as a " + (is_ip ? "IP" : "DNS") + " SAN",
                 true);
  }
  const auto left = leaf.valid_until - options.now;
  if (verdict.ok() && left < std::chrono::hours(24 * 30)) {
    step.problem("tls.expires_soon", "the server certificate " + validity_phrase(leaf, options.now),
                 "renew it before " + leaf.not_after, false);
  }
}

/// The CertificateRequest: CA names, and whether the client certificate's issuer is among them.
void check_certificate_request(SSL* ssl, const TlsObserver& observer, const ProbeOptions& options,
                               ProbeStep& step) {
  step.data["certificate_requested"] = observer.certificate_requested;
  if (!observer.certificate_requested) {
    step.facts.push_back("the server does not ask for a client certificate");
    if (!options.cert.empty())
      step.problem("tls.cert_not_requested",
                   "a client certificate was given but the server does not ask for one",
                   "the server authenticates by other means (or only on some paths)", false);
    return;
  }
  // On a client, AWS-LC answers with the CA names of the server's CertificateRequest, kept after
  // the handshake and available after a failed one too.
  const STACK_OF(X509_NAME)* names = SSL_get_client_CA_list(ssl);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  const std::size_t count = names == nullptr ? 0 : sk_X509_NAME_num(names);
  for (std::size_t i = 0; i < count; ++i) list.push_back(name_text(sk_X509_NAME_value(names, i)));
  step.data["accepted_ca_names"] = list;
  step.facts.push_back(
      "the server asks for a client certificate; CA names accepted: " +
      (count == 0 ? std::string("none listed (any issuer)") : std::to_string(count)));
  for (const auto& n : list) step.facts.push_back("  accepts: " + n.get<std::string>());
  if (options.cert.empty()) {
    step.problem("tls.client_cert_needed",
                 "the server asks for a client certificate and none was given",
                 "pass --cert and --key (a certificate issued by one of the CAs listed)", false);
    return;
  }
  X509* mine = SSL_get_certificate(ssl);
  if (mine == nullptr || count == 0) return;
  bool listed = false;
  for (std::size_t i = 0; i < count; ++i)
    listed = listed || X509_NAME_cmp(X509_get_issuer_name(mine), sk_X509_NAME_value(names, i)) == 0;
  // The chain file may carry intermediates: the request also matches their issuers.
  STACK_OF(X509)* extra = nullptr;
  SSL_get0_chain_certs(ssl, &extra);
  for (std::size_t j = 0; extra != nullptr && j < sk_X509_num(extra); ++j)
    for (std::size_t i = 0; i < count; ++i)
      listed = listed || X509_NAME_cmp(X509_get_issuer_name(sk_X509_value(extra, j)),
                                       sk_X509_NAME_value(names, i)) == 0;
  const std::string issuer = name_text(X509_get_issuer_name(mine));
  step.data["client_issuer_listed"] = listed;
  if (listed) {
    step.facts.push_back("the client certificate's issuer (" + issuer + ") is among them");
  } else {
    step.problem("tls.client_issuer_not_accepted",
                 "the client certificate's issuer '" + issuer +
                     "' is not among the CA names the server accepts; most clients (browsers, "
                     ".NET, Java) then send no certificate at all",
                 "use a certificate issued by one of the listed CAs, or have the server add '" +
                     issuer + "' (or its root) to its trusted client CAs",
                 false);
  }
}

}  // namespace

bool step_tls(Connection& conn, const Target& target, const ProbeOptions& options,
              TlsObserver& observer, ProbeStep& step) {
  step.name = "tls";
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    step.problem("tls.internal", "cannot create a TLS context", "", true);
    return false;
  }
  // The chain is verified afterwards, with explanations; the handshake itself never stops on it.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_msg_callback(ctx, on_message);
  SSL_CTX_set_msg_callback_arg(ctx, &observer);
  if (!options.cert.empty()) {
    const std::string key = options.key.empty() ? options.cert : options.key;
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      step.problem("tls.client_cert_unusable",
                   "cannot use the client certificate/key: " + pki::openssl_errors(),
                   "check --cert (PEM, leaf first) and --key (the matching unencrypted PEM key); "
                   "`portcullis inspect FILE` shows what the files hold",
                   true);
      SSL_CTX_free(ctx);
      return false;
    }
  }
  conn.ssl = SSL_new(ctx);
  SSL_CTX_free(ctx);  // the SSL keeps its own reference
  SSL_set_fd(conn.ssl, conn.fd);
  if (!core::IpAddress::parse(target.host)) SSL_set_tlsext_host_name(conn.ssl, target.host.c_str());
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  const auto started = std::chrono::steady_clock::now();
  int rc = 0;
  for (;;) {
    rc = SSL_connect(conn.ssl);
    if (rc == 1) break;
    const int err = SSL_get_error(conn.ssl, rc);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && left.count() > 0) {
      pollfd p{conn.fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) > 0) continue;
    }
    break;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  step.data["ms"] = ms;
  if (rc != 1) {
    const std::string errors = pki::openssl_errors();
    step.data["error"] = errors;
    step.summary = "handshake failed after " + std::to_string(ms) + " ms";
    if (observer.alert_received) {
      alert_problem(*observer.alert_received, step);
    } else if (errors.find("wrong version number") != std::string::npos ||
               errors.find("packet length too long") != std::string::npos) {
      step.problem("tls.not_tls", "the server does not speak TLS on this port (" + errors + ")",
                   "use http:// for this port, or the server's TLS port", true);
    } else {
      step.problem("tls.handshake_failed",
                   "the TLS handshake failed: " + (errors.empty() ? "timed out or closed" : errors),
                   "check the port and the TLS versions the server allows", true);
    }
    check_certificate_request(conn.ssl, observer, options, step);
    return false;
  }
  step.summary = std::string(SSL_get_version(conn.ssl)) + ", " +
                 SSL_CIPHER_get_name(SSL_get_current_cipher(conn.ssl)) + " (" + std::to_string(ms) +
                 " ms)";
  step.data["protocol"] = SSL_get_version(conn.ssl);
  step.data["cipher"] = SSL_CIPHER_get_name(SSL_get_current_cipher(conn.ssl));
  std::vector<pki::X509Ptr> chain;
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(conn.ssl)) {
    for (std::size_t i = 0; i < sk_X509_num(sent); ++i) {
      X509* c = sk_X509_value(sent, i);
      X509_up_ref(c);
      chain.emplace_back(c);
    }
  }
  check_server_certificates(chain, target, options, step);
  check_certificate_request(conn.ssl, observer, options, step);
  return step.status != StepStatus::Fail;
}

}  // namespace portcullis::diag

// Failure classification for outgoing connections.
#include "net/dial_errors.h"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "net/tls_context.h"
#include "pki/openssl_ptr.h"

namespace portcullis::net {
namespace {

namespace asio = boost::asio;

std::string name_text(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

/// TLS library reasons that mean the bytes the peer sent are not a TLS record: typically an HTTP
/// server answering "HTTP/1.1 400" to our ClientHello (AWS-LC reports that as a wrong version
/// number, or as an HTTP request when the bytes look like one).
bool not_tls_reason(int reason) {
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_RECORD_TOO_LARGE ||
         reason == SSL_R_ENCRYPTED_LENGTH_TOO_LONG || reason == SSL_R_BAD_PACKET_LENGTH ||
         reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNKNOWN_PROTOCOL ||
         reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST;
}

}  // namespace

bool is_dns_error(const boost::system::error_code& ec) {
  return ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
         ec == asio::error::no_data || ec == asio::error::no_recovery ||
         ec.category() == asio::error::get_addrinfo_category() ||
         ec.category() == asio::error::get_netdb_category();
}

std::string tls_failure_text(SSL* ssl, const boost::system::error_code& ec) {
  if (peer_verification_failed(ssl)) {
    return std::string("certificate verification failed: ") +
           X509_verify_cert_error_string(SSL_get_verify_result(ssl));
  }
  std::string text = ec.message();
  const auto queued = pki::openssl_errors();
  if (!queued.empty()) text += " (" + queued + ")";
  return text;
}

std::vector<std::string> presented_chain(SSL* ssl) {
  std::vector<std::string> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (chain == nullptr) return out;
  for (std::size_t i = 0; i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    out.push_back(name_text(X509_get_subject_name(cert)) +
                  " (issuer: " + name_text(X509_get_issuer_name(cert)) + ")");
  }
  return out;
}

TlsFailure classify_tls_failure(SSL* ssl, const boost::system::error_code& ec) {
  TlsFailure out;
  out.chain = presented_chain(ssl);
  if (peer_verification_failed(ssl)) {
    out.kind = TlsFailureKind::Untrusted;
    out.text = tls_failure_text(ssl, ec);
    return out;
  }
  if (ec.category() == asio::error::get_ssl_category() &&
      not_tls_reason(ERR_GET_REASON(static_cast<unsigned long>(ec.value())))) {
    out.kind = TlsFailureKind::ProtocolMismatch;
    out.text = "the server did not answer in TLS (" + ec.message() +
               "): it speaks plain HTTP on this port; use an http:// URL or the server's TLS port";
    return out;
  }
  out.text = tls_failure_text(ssl, ec);
  return out;
}

}  // namespace portcullis::net

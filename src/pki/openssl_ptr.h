// RAII owners for OpenSSL objects, the error-queue reader and the self-signed test shared by
// pki/, diag/ and net/tls.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portcullis::pki {

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const noexcept { Free(p); }
};

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL, X509_CRL_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;

/// Frees a certificate stack and every certificate in it.
inline void free_x509_stack(STACK_OF(X509) * stack) {
  sk_X509_pop_free(stack, X509_free);
}

/// An owned STACK_OF(X509) that also owns its certificates (as chains and untrusted sets are).
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509), OpenSslDeleter<STACK_OF(X509), free_x509_stack>>;

/// A new stack holding a reference to every certificate of `certs` (for X509_STORE_CTX_init,
/// SSL_CTX_set0_chain and friends). nullptr only when OpenSSL is out of memory.
X509StackPtr make_x509_stack(const std::vector<X509Ptr>& certs);

/// Drains the thread's OpenSSL error queue into one line ("" when empty): each error as
/// "error:<code>:<library>:<reason>", its reason as openssl_reason_text() words.
std::string openssl_errors();

/// The reason of an error-queue code as lower-case words ("no start line", "wrong tag"), as
/// OpenSSL 3 spelled them; reasons already written as text ("No such file or directory") are
/// kept. "" when the code has no known reason.
std::string openssl_reason_text(std::uint32_t code);

/// Whether `cert` looks self-signed, as OpenSSL 3's X509_self_signed decided: it has a public
/// key, its subject equals its issuer, its authority key identifier (if any) names itself and
/// its signature algorithm fits its own key type. With `check_signature` the signature must
/// also verify with its own key. False for nullptr.
bool is_self_signed(X509* cert, bool check_signature);

}  // namespace portcullis::pki

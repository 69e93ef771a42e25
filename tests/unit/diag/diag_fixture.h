// Helpers for the diagnostics tests: certificates issued in-process (pki::cert_builder), PEM and
// DER text, PKCS#7 and PKCS#12 containers, and a temporary directory for files.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/pkcs8.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pki/cert_builder.h"
#include "pki/cert_files.h"

namespace portcullis::diag::testing {

using std::chrono::hours;
inline constexpr hours kDay{24};

inline pki::IssuedCert issue(const pki::CertSpec& spec) {
  auto r = pki::issue_certificate(spec);
  if (!r) ADD_FAILURE() << r.error().to_string();
  return r ? std::move(*r) : pki::IssuedCert{};
}

inline pki::CertSpec ca(std::string subject, const pki::IssuedCert* issuer = nullptr) {
  pki::CertSpec s;
  s.subject = std::move(subject);
  if (issuer != nullptr) {
    s.issuer_cert = issuer->cert.get();
    s.issuer_key = issuer->key.get();
  }
  s.is_ca = true;
  return s;
}

inline pki::CertSpec leaf(std::string subject, const pki::IssuedCert* issuer) {
  pki::CertSpec s;
  s.subject = std::move(subject);
  if (issuer != nullptr) {
    s.issuer_cert = issuer->cert.get();
    s.issuer_key = issuer->key.get();
  }
  s.extended_key_usage = {"clientAuth"};
  return s;
}

inline std::string pem(X509* cert) {
  return pki::to_pem(cert);
}

inline std::string der(X509* cert) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(cert, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

inline std::string crl_pem(X509_CRL* crl) {
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

/// Re-signs `cert` with `key` and `md` (SHA-1 certificates for the weak-signature checks).
inline void resign(X509* cert, EVP_PKEY* key, const EVP_MD* md) {
  ASSERT_GT(X509_sign(cert, key, md), 0);
}

/// A PKCS#7 signed-data structure holding `certs` (what `openssl crl2pkcs7 -nocrl` writes).
/// The certificates are a SET in it: their order is not kept.
inline std::string pkcs7_der(const std::vector<X509*>& certs) {
  STACK_OF(X509)* stack = sk_X509_new_null();
  for (X509* c : certs) sk_X509_push(stack, c);
  CBB cbb;
  std::uint8_t* buf = nullptr;
  std::size_t len = 0;
  const bool ok = CBB_init(&cbb, 0) == 1 && PKCS7_bundle_certificates(&cbb, stack) == 1 &&
                  CBB_finish(&cbb, &buf, &len) == 1;
  if (!ok) CBB_cleanup(&cbb);
  sk_X509_free(stack);  // the certificates stay with the caller
  EXPECT_TRUE(ok);
  std::string out(reinterpret_cast<char*>(buf), len);
  OPENSSL_free(buf);
  return out;
}

/// A PKCS#12 archive (3DES key, RC2-40 certificates, SHA-1 MAC: AWS-LC's defaults) of `key` (may
/// be null) and `certs`.
inline std::string pkcs12_der(const char* password, EVP_PKEY* key, X509* cert,
                              const std::vector<X509*>& extra) {
  STACK_OF(X509)* ca = sk_X509_new_null();
  for (X509* c : extra) sk_X509_push(ca, c);
  PKCS12* p12 = PKCS12_create(password, "test", key, cert, ca, 0, 0, 0, 0, 0);
  sk_X509_free(ca);
  EXPECT_NE(p12, nullptr);
  unsigned char* buf = nullptr;
  const int len = i2d_PKCS12(p12, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  PKCS12_free(p12);
  return out;
}

/// An RSA key of `bits` (small keys for the weak-key checks).
inline pki::EvpPkeyPtr rsa_key(unsigned bits) {
  pki::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  EVP_PKEY* key = nullptr;
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
                  EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) == 1 &&
                  EVP_PKEY_keygen(ctx.get(), &key) == 1;
  EXPECT_TRUE(ok);
  return pki::EvpPkeyPtr(key);
}

/// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "portcullis-diag-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& data) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace portcullis::diag::testing

// The built-in EC method switch (pki/ec_key_methods.h): in the mode ctest selects, certificates'
// EC keys decode through the expected path, and every EC operation the gateway relies on still
// works: chain verification (and a broken signature still fails), signing with a provider key
// and verifying with a decoded one, key generation and ECDH on each curve.
#include "pki/ec_key_methods.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "../common/ec_keys_mode.h"
#include "pki/cert_builder.h"

namespace portcullis::pki {
namespace {

using portcullis::testing::builtin_ec_keys_requested;

/// `cert` written to DER and read back, as a certificate received in a handshake is.
X509Ptr reparsed(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  const unsigned char* p = der;
  X509Ptr out(d2i_X509(nullptr, &p, len));
  OPENSSL_free(der);
  return out;
}

struct Chain {
  IssuedCert root;
  IssuedCert leaf;
};

Chain make_chain() {
  CertSpec root_spec;
  root_spec.subject = "CN=EC root";
  root_spec.is_ca = true;
  auto root = issue_certificate(root_spec);
  EXPECT_TRUE(root) << root.error().message;
  CertSpec leaf_spec;
  leaf_spec.subject = "CN=EC leaf";
  leaf_spec.issuer_cert = root->cert.get();
  leaf_spec.issuer_key = root->key.get();
  leaf_spec.extended_key_usage = {"clientAuth"};
  auto leaf = issue_certificate(leaf_spec);
  EXPECT_TRUE(leaf) << leaf.error().message;
  return {std::move(*root), std::move(*leaf)};
}

int verify_chain(X509* root, X509* leaf) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

TEST(EcKeyMethods, InstalledExactlyWhenTheRunAsksForIt) {
  EXPECT_EQ(ec_key_methods_installed(), builtin_ec_keys_requested());
  if (builtin_ec_keys_requested()) {
    EXPECT_TRUE(install_ec_key_methods());  // idempotent
  }
}

TEST(EcKeyMethods, CertificateKeysDecodeThroughTheSelectedPath) {
  Chain chain = make_chain();
  X509Ptr leaf = reparsed(chain.leaf.cert.get());
  ASSERT_TRUE(leaf);
  EVP_PKEY* key = X509_get0_pubkey(leaf.get());
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  // Built-in keys belong to no provider; the default path gives the default provider's.
  EXPECT_EQ(EVP_PKEY_get0_provider(key) == nullptr, builtin_ec_keys_requested());
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, &len), 1);
  EXPECT_EQ(std::string(group, len), "prime256v1");
}

TEST(EcKeyMethods, ChainsVerifyAndBrokenSignaturesStillFail) {
  Chain chain = make_chain();
  X509Ptr root = reparsed(chain.root.cert.get());
  X509Ptr leaf = reparsed(chain.leaf.cert.get());
  EXPECT_EQ(verify_chain(root.get(), leaf.get()), X509_V_OK);

  // A leaf signed by a key that is not the root's: same names, wrong signature.
  CertSpec impostor_spec;
  impostor_spec.subject = "CN=EC root";
  impostor_spec.is_ca = true;
  auto impostor = issue_certificate(impostor_spec);
  ASSERT_TRUE(impostor);
  CertSpec forged_spec;
  forged_spec.subject = "CN=EC leaf";
  forged_spec.issuer_cert = root.get();
  forged_spec.issuer_key = impostor->key.get();
  auto forged = issue_certificate(forged_spec);
  ASSERT_TRUE(forged);
  X509Ptr forged_leaf = reparsed(forged->cert.get());
  EXPECT_EQ(verify_chain(root.get(), forged_leaf.get()), X509_V_ERR_CERT_SIGNATURE_FAILURE);
}

TEST(EcKeyMethods, ProviderKeySignsWhatTheDecodedCertificateKeyVerifies) {
  Chain chain = make_chain();
  X509Ptr leaf = reparsed(chain.leaf.cert.get());
  EVP_PKEY* pub = X509_get0_pubkey(leaf.get());
  const std::string message = "CertificateVerify transcript";

  std::vector<unsigned char> sig(EVP_PKEY_get_size(chain.leaf.key.get()));
  size_t sig_len = sig.size();
  EVP_MD_CTX* sign = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit_ex(sign, nullptr, "SHA256", nullptr, nullptr, chain.leaf.key.get(),
                                  nullptr),
            1);
  ASSERT_EQ(EVP_DigestSign(sign, sig.data(), &sig_len,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  EVP_MD_CTX_free(sign);

  auto verifies = [&](const std::string& text) {
    EVP_MD_CTX* verify = EVP_MD_CTX_new();
    const bool ok =
        EVP_DigestVerifyInit_ex(verify, nullptr, "SHA256", nullptr, nullptr, pub, nullptr) == 1 &&
        EVP_DigestVerify(verify, sig.data(), sig_len,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
    EVP_MD_CTX_free(verify);
    return ok;
  };
  EXPECT_TRUE(verifies(message));
  EXPECT_FALSE(verifies(message + "!"));
  EXPECT_EQ(X509_check_private_key(leaf.get(), chain.leaf.key.get()), 1);
}

TEST(EcKeyMethods, KeyGenerationAndEcdhOnEveryCurve) {
  for (const char* group : {SN_X9_62_prime256v1, SN_secp384r1, SN_secp521r1}) {
    SCOPED_TRACE(group);
    EvpPkeyPtr a(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group));
    EvpPkeyPtr b(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group));
    ASSERT_TRUE(a && b);
    auto derive = [](EVP_PKEY* own, EVP_PKEY* peer) {
      EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
      std::vector<unsigned char> secret(80);
      size_t len = secret.size();
      if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
          EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
          EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) {
        return std::vector<unsigned char>{};
      }
      secret.resize(len);
      return secret;
    };
    const auto ab = derive(a.get(), b.get());
    EXPECT_FALSE(ab.empty());
    EXPECT_EQ(ab, derive(b.get(), a.get()));
  }
}

}  // namespace
}  // namespace portcullis::pki

// Why an ENGINE: OpenSSL 3.0 decodes the public key of every certificate it parses
// (X509_PUBKEY, on d2i) through OSSL_DECODER_CTX_new_for_pkey, which rebuilds the decoder chain
// from every provider's decoder list on each call. For a full mTLS handshake with a client leaf
// and intermediate that was ~40 % of the gateway's CPU (bench/README.md). 3.0's x509_pubkey
// decoding takes the built-in ("legacy") EC path instead whenever an ENGINE claims the key type;
// that path does the same ASN.1 and point decoding without the chain building and its locks.
// The ENGINE here claims EVP_PKEY_EC with a copy of OpenSSL's own built-in EC method, so the
// keys, the ECDSA maths and the results are OpenSSL's: only the dispatch changes. EVP_PKEY_CTXs
// for EC keys then run on that method too (provider keys are used through their EC_KEY view),
// which is why EC keys the gateway builds itself come from DER (jwt_keys.cpp), not fromdata.
// The ENGINE API is deprecated in 3.0 but present in every 3.x; this file alone uses it.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pki/ec_key_methods.h"

#include <openssl/engine.h>
#include <openssl/evp.h>

#include <atomic>
#include <mutex>

namespace portcullis::pki {
namespace {

constexpr int kClaimedNids[] = {EVP_PKEY_EC};

EVP_PKEY_METHOD* g_ec_method = nullptr;  // a copy of the built-in; lives for the process
std::atomic<bool> g_installed{false};

/// ENGINE_PKEY_METHS_PTR: with no method pointer, lists the nids; otherwise hands out the copy.
int engine_pkey_methods(ENGINE*, EVP_PKEY_METHOD** method, const int** nids, int nid) {
  if (method == nullptr) {
    *nids = kClaimedNids;
    return static_cast<int>(sizeof kClaimedNids / sizeof kClaimedNids[0]);
  }
  *method = nid == EVP_PKEY_EC ? g_ec_method : nullptr;
  return *method != nullptr ? 1 : 0;
}

bool install_once() {
  const EVP_PKEY_METHOD* builtin = EVP_PKEY_meth_find(EVP_PKEY_EC);
  if (builtin == nullptr) return false;
  EVP_PKEY_METHOD* copy = EVP_PKEY_meth_new(EVP_PKEY_EC, 0);
  if (copy == nullptr) return false;
  EVP_PKEY_meth_copy(copy, builtin);
  ENGINE* engine = ENGINE_new();
  if (engine == nullptr) {
    EVP_PKEY_meth_free(copy);
    return false;
  }
  g_ec_method = copy;
  const bool ok = ENGINE_set_id(engine, "portcullis-ec") == 1 &&
                  ENGINE_set_name(engine, "Portcullis: OpenSSL's built-in EC keys") == 1 &&
                  ENGINE_set_pkey_meths(engine, engine_pkey_methods) == 1 &&
                  ENGINE_add(engine) == 1 && ENGINE_set_default_pkey_meths(engine) == 1;
  if (!ok) {
    ENGINE_unregister_pkey_meths(engine);
    ENGINE_remove(engine);
  }
  // The engine list keeps its own reference (ENGINE_add); ours goes.
  ENGINE_free(engine);
  if (!ok) {
    g_ec_method = nullptr;
    EVP_PKEY_meth_free(copy);
  }
  return ok;
}

}  // namespace

bool install_ec_key_methods() {
  static std::once_flag once;
  std::call_once(once, [] { g_installed = install_once(); });
  return g_installed;
}

bool ec_key_methods_installed() {
  return g_installed;
}

}  // namespace portcullis::pki

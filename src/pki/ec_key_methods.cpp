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
// The ENGINE also claims the EC ASN.1 method with a copy of the built-in one whose public-key
// functions are ec_public_keys.cpp's: the same decoding, plus a cache of decoded keys, so a
// reconnecting client's certificates share their EC_KEYs instead of rebuilding them.
// The ENGINE API is deprecated in 3.0 but present in every 3.x; this file and
// ec_public_keys.cpp alone use it.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pki/ec_key_methods.h"

#include <openssl/engine.h>
#include <openssl/evp.h>

#include <atomic>
#include <mutex>

#include "pki/ec_public_keys.h"

namespace portcullis::pki {
namespace {

constexpr int kClaimedNids[] = {EVP_PKEY_EC};

EVP_PKEY_METHOD* g_ec_method = nullptr;            // a copy of the built-in; lives for the process
EVP_PKEY_ASN1_METHOD* g_ec_asn1_method = nullptr;  // likewise, with ec_public_keys' functions
std::atomic<bool> g_installed{false};

/// ENGINE_PKEY_METHS_PTR and ENGINE_PKEY_ASN1_METHS_PTR alike: with no method pointer, lists
/// the claimed nids; otherwise hands out `*claimed` (the copy) for EC.
template <class Method, Method** claimed>
int engine_methods(ENGINE*, Method** method, const int** nids, int nid) {
  if (method == nullptr) {
    *nids = kClaimedNids;
    return static_cast<int>(sizeof kClaimedNids / sizeof kClaimedNids[0]);
  }
  *method = nid == EVP_PKEY_EC ? *claimed : nullptr;
  return *method != nullptr ? 1 : 0;
}

/// The built-in EC ASN.1 method with the public-key functions replaced; nullptr on failure.
EVP_PKEY_ASN1_METHOD* new_asn1_method() {
  const EVP_PKEY_ASN1_METHOD* builtin = EVP_PKEY_asn1_find(nullptr, EVP_PKEY_EC);
  if (builtin == nullptr) return nullptr;
  EVP_PKEY_ASN1_METHOD* copy =
      EVP_PKEY_asn1_new(EVP_PKEY_EC, 0, "EC", "OpenSSL EC algorithm (Portcullis key cache)");
  if (copy == nullptr) return nullptr;
  EVP_PKEY_asn1_copy(copy, builtin);
  EVP_PKEY_asn1_set_public(copy, ec_public::decode, ec_public::encode, ec_public::compare,
                           ec_public::print, ec_public::signature_size, ec_public::bits);
  return copy;
}

bool install_once() {
  const EVP_PKEY_METHOD* builtin = EVP_PKEY_meth_find(EVP_PKEY_EC);
  if (builtin == nullptr) return false;
  EVP_PKEY_METHOD* copy = EVP_PKEY_meth_new(EVP_PKEY_EC, 0);
  if (copy == nullptr) return false;
  EVP_PKEY_meth_copy(copy, builtin);
  EVP_PKEY_ASN1_METHOD* asn1_copy = new_asn1_method();
  ENGINE* engine = asn1_copy != nullptr ? ENGINE_new() : nullptr;
  if (engine == nullptr) {
    EVP_PKEY_asn1_free(asn1_copy);
    EVP_PKEY_meth_free(copy);
    return false;
  }
  g_ec_method = copy;
  g_ec_asn1_method = asn1_copy;
  const bool ok =
      ENGINE_set_id(engine, "portcullis-ec") == 1 &&
      ENGINE_set_name(engine, "Portcullis: OpenSSL's built-in EC keys") == 1 &&
      ENGINE_set_pkey_meths(engine, engine_methods<EVP_PKEY_METHOD, &g_ec_method>) == 1 &&
      ENGINE_set_pkey_asn1_meths(engine, engine_methods<EVP_PKEY_ASN1_METHOD, &g_ec_asn1_method>) ==
          1 &&
      ENGINE_add(engine) == 1 && ENGINE_set_default_pkey_meths(engine) == 1 &&
      ENGINE_set_default_pkey_asn1_meths(engine) == 1;
  if (!ok) {
    ENGINE_unregister_pkey_meths(engine);
    ENGINE_unregister_pkey_asn1_meths(engine);
    ENGINE_remove(engine);
  }
  // The engine list keeps its own reference (ENGINE_add); ours goes.
  ENGINE_free(engine);
  if (!ok) {
    g_ec_method = nullptr;
    g_ec_asn1_method = nullptr;
    EVP_PKEY_asn1_free(asn1_copy);
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

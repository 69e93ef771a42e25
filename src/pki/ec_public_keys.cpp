// The same decoding OpenSSL 3.0's built-in EC method does (crypto/ec/ec_ameth.c), with two
// differences. A named-curve key is built with one group (EC_KEY_new_by_curve_name) where the
// built-in builds the group and then copies it into the key. And a decoded named-curve key is
// kept in a small cache keyed by the curve and the exact point bytes: the next certificate with
// the same key (the same client reconnecting, the intermediate every client sends) gets the
// same EC_KEY, reference-counted. Public EC_KEYs are only read once decoded (verification,
// comparison, encoding), as OpenSSL itself shares a server key between connections, so sharing
// one between certificates and threads is safe. Only the EC_KEY_* API makes this possible on
// 3.0, hence the deprecation suppression (ec_key_methods.cpp explains the ENGINE around it).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pki/ec_public_keys.h"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace portcullis::pki::ec_public {
namespace {

/// Direct-mapped: slot = hash(curve, point) % kCacheSlots. Lookups and replacements hold the
/// mutex for a compare and a reference count, never for decoding or freeing.
class KeyCache {
 public:
  /// The cached key for `curve` and `point`, with a reference for the caller; nullptr if absent.
  EC_KEY* find(std::string_view id) {
    Slot& slot = slots_[index(id)];
    std::lock_guard lock(mutex_);
    if (slot.key == nullptr || slot.id != id) return nullptr;
    EC_KEY_up_ref(slot.key);
    ++stats_.hits;
    return slot.key;
  }

  /// Stores `key` (the cache takes its own reference) in place of whatever held the slot.
  void store(std::string_view id, EC_KEY* key) {
    EC_KEY_up_ref(key);
    EC_KEY* evicted = nullptr;
    {
      Slot& slot = slots_[index(id)];
      std::lock_guard lock(mutex_);
      evicted = slot.key;
      if (evicted == nullptr) ++stats_.entries;
      slot.id.assign(id);
      slot.key = key;
      ++stats_.misses;
    }
    EC_KEY_free(evicted);
  }

  CacheStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  struct Slot {
    std::string id;
    EC_KEY* key = nullptr;
  };

  static std::size_t index(std::string_view id) {
    return std::hash<std::string_view>{}(id) % kCacheSlots;
  }

  std::mutex mutex_;
  std::array<Slot, kCacheSlots> slots_;
  CacheStats stats_;
};

/// Lives for the process (never destroyed, so no EC_KEY_free after OpenSSL's own cleanup).
KeyCache& cache() {
  static KeyCache* instance = new KeyCache;
  return *instance;
}

/// The cache's key: the curve's nid, then the encoded point.
std::string cache_id(int curve, const unsigned char* point, int point_len) {
  std::string id(sizeof curve, '\0');
  std::memcpy(id.data(), &curve, sizeof curve);
  id.append(reinterpret_cast<const char*>(point), static_cast<std::size_t>(point_len));
  return id;
}

/// Sets the public point of `key` (which has its group); frees `key` and returns nullptr if the
/// bytes are not a point on that curve.
EC_KEY* with_point(EC_KEY* key, const unsigned char* point, int point_len) {
  if (o2i_ECPublicKey(&key, &point, point_len) == nullptr) {
    EC_KEY_free(key);
    ERR_raise(ERR_LIB_EC, EC_R_DECODE_ERROR);
    return nullptr;
  }
  return key;
}

EC_KEY* named_curve_key(int curve, const unsigned char* point, int point_len) {
  const std::string id = cache_id(curve, point, point_len);
  if (EC_KEY* cached = cache().find(id); cached != nullptr) return cached;
  EC_KEY* key = EC_KEY_new_by_curve_name(curve);
  if (key == nullptr) return nullptr;  // OpenSSL has raised the unknown-curve error
  key = with_point(key, point, point_len);
  if (key != nullptr) cache().store(id, key);
  return key;
}

EC_KEY* explicit_parameters_key(const ASN1_STRING* parameters, const unsigned char* point,
                                int point_len) {
  const unsigned char* der = ASN1_STRING_get0_data(parameters);
  EC_KEY* key = d2i_ECParameters(nullptr, &der, ASN1_STRING_length(parameters));
  if (key == nullptr) {
    ERR_raise(ERR_LIB_EC, EC_R_DECODE_ERROR);
    return nullptr;
  }
  return with_point(key, point, point_len);
}

const EC_KEY* ec_key_of(const EVP_PKEY* pkey) {
  return pkey != nullptr ? EVP_PKEY_get0_EC_KEY(pkey) : nullptr;
}

/// The AlgorithmIdentifier parameter for `key`'s group: its OID, or explicit ECParameters.
bool parameters_of(const EC_KEY* key, int* type, void** value) {
  const EC_GROUP* group = EC_KEY_get0_group(key);
  if (group == nullptr) {
    ERR_raise(ERR_LIB_EC, EC_R_MISSING_PARAMETERS);
    return false;
  }
  const int curve = EC_GROUP_get_curve_name(group);
  if (EC_GROUP_get_asn1_flag(group) != 0 && curve != NID_undef) {
    ASN1_OBJECT* oid = OBJ_nid2obj(curve);
    if (oid == nullptr || OBJ_length(oid) == 0) {
      ERR_raise(ERR_LIB_EC, EC_R_MISSING_OID);
      return false;
    }
    *type = V_ASN1_OBJECT;
    *value = oid;
    return true;
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECParameters(key, &der);
  ASN1_STRING* sequence = der_len > 0 ? ASN1_STRING_new() : nullptr;
  if (sequence == nullptr) {
    OPENSSL_free(der);
    ERR_raise(ERR_LIB_EC, ERR_R_EC_LIB);
    return false;
  }
  ASN1_STRING_set0(sequence, der, der_len);
  *type = V_ASN1_SEQUENCE;
  *value = sequence;
  return true;
}

void free_parameter(int type, void* value) {
  if (type == V_ASN1_SEQUENCE) ASN1_STRING_free(static_cast<ASN1_STRING*>(value));
  // An OID from OBJ_nid2obj is a static table entry.
}

}  // namespace

int decode(EVP_PKEY* pkey, const X509_PUBKEY* pub) {
  const unsigned char* point = nullptr;
  int point_len = 0;
  X509_ALGOR* algorithm = nullptr;
  if (X509_PUBKEY_get0_param(nullptr, &point, &point_len, &algorithm, pub) != 1) return 0;
  int type = V_ASN1_UNDEF;
  const void* value = nullptr;
  X509_ALGOR_get0(nullptr, &type, &value, algorithm);
  EC_KEY* key = nullptr;
  if (type == V_ASN1_OBJECT) {
    key = named_curve_key(OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(value)), point, point_len);
  } else if (type == V_ASN1_SEQUENCE) {
    key = explicit_parameters_key(static_cast<const ASN1_STRING*>(value), point, point_len);
  } else {
    ERR_raise(ERR_LIB_EC, EC_R_DECODE_ERROR);
  }
  if (key == nullptr) return 0;
  if (EVP_PKEY_assign_EC_KEY(pkey, key) != 1) {
    EC_KEY_free(key);
    return 0;
  }
  return 1;
}

int encode(X509_PUBKEY* pub, const EVP_PKEY* pkey) {
  const EC_KEY* key = ec_key_of(pkey);
  int type = V_ASN1_UNDEF;
  void* value = nullptr;
  if (key == nullptr || !parameters_of(key, &type, &value)) return 0;
  unsigned char* point = nullptr;
  const int point_len = i2o_ECPublicKey(key, &point);
  if (point_len > 0 &&
      X509_PUBKEY_set0_param(pub, OBJ_nid2obj(EVP_PKEY_EC), type, value, point, point_len) == 1) {
    return 1;  // `pub` owns the parameter and the point now
  }
  OPENSSL_free(point);
  free_parameter(type, value);
  return 0;
}

int compare(const EVP_PKEY* a, const EVP_PKEY* b) {
  const EC_KEY* ka = ec_key_of(a);
  const EC_KEY* kb = ec_key_of(b);
  if (ka == nullptr || kb == nullptr) return -2;
  const EC_GROUP* group = EC_KEY_get0_group(kb);
  const EC_POINT* pa = EC_KEY_get0_public_key(ka);
  const EC_POINT* pb = EC_KEY_get0_public_key(kb);
  if (group == nullptr || pa == nullptr || pb == nullptr) return -2;
  switch (EC_POINT_cmp(group, pa, pb, nullptr)) {
    case 0:
      return 1;
    case 1:
      return 0;
    default:
      return -2;
  }
}

int print(BIO* out, const EVP_PKEY* pkey, int indent, ASN1_PCTX* /*ctx*/) {
  const EC_KEY* key = ec_key_of(pkey);
  const EC_GROUP* group = key != nullptr ? EC_KEY_get0_group(key) : nullptr;
  if (group == nullptr) {
    ERR_raise(ERR_LIB_EC, ERR_R_PASSED_INVALID_ARGUMENT);
    return 0;
  }
  unsigned char* point = nullptr;
  const std::size_t point_len =
      EC_KEY_get0_public_key(key) != nullptr
          ? EC_KEY_key2buf(key, EC_KEY_get_conv_form(key), &point, nullptr)
          : 0;
  const bool ok =
      BIO_indent(out, indent, 128) == 1 &&
      BIO_printf(out, "Public-Key: (%d bit)\n", EC_GROUP_order_bits(group)) > 0 &&
      (point_len == 0 || (BIO_indent(out, indent, 128) == 1 && BIO_printf(out, "pub:\n") > 0 &&
                          ASN1_buf_print(out, point, point_len, indent + 4) == 1)) &&
      ECPKParameters_print(out, group, indent) == 1;
  OPENSSL_free(point);
  return ok ? 1 : 0;
}

int signature_size(const EVP_PKEY* pkey) {
  const EC_KEY* key = ec_key_of(pkey);
  return key != nullptr ? ECDSA_size(key) : 0;
}

int bits(const EVP_PKEY* pkey) {
  const EC_KEY* key = ec_key_of(pkey);
  const EC_GROUP* group = key != nullptr ? EC_KEY_get0_group(key) : nullptr;
  return group != nullptr ? EC_GROUP_order_bits(group) : 0;
}

CacheStats cache_stats() {
  return cache().stats();
}

}  // namespace portcullis::pki::ec_public

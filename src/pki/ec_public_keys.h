// The public-key half of the built-in EC method (ec_key_methods.cpp): how a certificate's EC key
// is decoded, encoded, compared and printed. Decoding goes through a bounded process-wide cache
// of decoded keys, so the same client chain seen on every reconnection shares one EC_KEY per
// certificate instead of building two P-256 groups and a point per certificate per handshake.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>

namespace portcullis::pki::ec_public {

/// How many distinct public keys the cache keeps (direct-mapped: a colliding key replaces the
/// older one, so a flood of new certificates costs speed, never memory).
inline constexpr std::size_t kCacheSlots = 1024;

/// EVP_PKEY_ASN1_METHOD pub_decode: `pub` (a named-curve or explicit-parameter EC
/// SubjectPublicKeyInfo) into `pkey`. Named-curve keys come from the cache when the curve and
/// point bytes match exactly; the EC_KEY is then shared (reference-counted) and never modified.
int decode(EVP_PKEY* pkey, const X509_PUBKEY* pub);
/// pub_encode: the key's SubjectPublicKeyInfo (curve OID, or explicit parameters if the group
/// has no name or asks for them; the point in the key's conversion form).
int encode(X509_PUBKEY* pub, const EVP_PKEY* pkey);
/// pub_cmp: 1 when both public points are equal, 0 when not, -2 when either is missing.
int compare(const EVP_PKEY* a, const EVP_PKEY* b);
/// pub_print: "Public-Key: (N bit)", the point in hex and the curve, as `openssl pkey -text`.
int print(BIO* out, const EVP_PKEY* pkey, int indent, ASN1_PCTX* ctx);
/// pkey_size: the largest DER ECDSA signature for the key's group.
int signature_size(const EVP_PKEY* pkey);
/// pkey_bits: the order of the key's group, in bits.
int bits(const EVP_PKEY* pkey);

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;  // named-curve keys decoded and stored
  std::size_t entries = 0;
};
/// Counters since process start (for tests and diagnostics).
CacheStats cache_stats();

}  // namespace portcullis::pki::ec_public

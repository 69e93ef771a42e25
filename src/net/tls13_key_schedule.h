// The TLS 1.3 key schedule's primitives (RFC 8446 §7.1, RFC 5869) for the gateway's own server
// handshake (net/tls13_server_handshake.h): SHA-256/SHA-384 transcript hashes, HMAC, HKDF-Extract
// and HKDF-Expand-Label with a context, Derive-Secret. OpenSSL's low-level digests do the hashing
// (no EVP fetch, no parameter arrays per call). No I/O, no state beyond the objects here.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace portcullis::net::tls13 {

/// The hash of a TLS 1.3 cipher suite.
enum class HashAlg : std::uint8_t { Sha256, Sha384 };

inline constexpr std::size_t kMaxHashSize = 48;
/// 32 for SHA-256, 48 for SHA-384.
std::size_t hash_size(HashAlg alg);

/// A hash output (or secret) of up to 48 bytes with its length; wiped on destruction.
struct Digest {
  std::array<std::uint8_t, kMaxHashSize> bytes{};
  std::size_t size = 0;
  std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }
  std::span<std::uint8_t> view() { return {bytes.data(), size}; }
  ~Digest();
};

/// The running hash of the handshake messages (the transcript, RFC 8446 §4.4.1).
class Transcript {
 public:
  explicit Transcript(HashAlg alg);
  HashAlg alg() const { return alg_; }
  void update(std::span<const std::uint8_t> bytes);
  /// The hash of everything so far; the transcript goes on accepting updates.
  Digest current() const;

 private:
  HashAlg alg_;
  SHA256_CTX sha256_{};
  SHA512_CTX sha384_{};
};

/// Hash(bytes) in one go.
Digest hash(HashAlg alg, std::span<const std::uint8_t> bytes);
/// HMAC(key, message) (RFC 2104).
Digest hmac(HashAlg alg, std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);
/// HKDF-Extract(salt, ikm); an empty salt is a string of hash-size zeros (RFC 5869 §2.2).
Digest hkdf_extract(HashAlg alg, std::span<const std::uint8_t> salt,
                    std::span<const std::uint8_t> ikm);
/// HKDF-Expand-Label(secret, label, context, out.size()) (RFC 8446 §7.1; `label` without the
/// "tls13 " prefix). False when out is longer than 255 hash blocks or the label or context too
/// long for the HkdfLabel encoding.
bool hkdf_expand_label(HashAlg alg, std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<const std::uint8_t> context, std::span<std::uint8_t> out);
/// Derive-Secret(secret, label, messages) with the transcript hash of the messages given
/// (`transcript_hash`): HKDF-Expand-Label(secret, label, transcript_hash, hash size). With a
/// label or context too long for HkdfLabel (never the RFC's), a random secret.
Digest derive_secret(HashAlg alg, std::span<const std::uint8_t> secret, std::string_view label,
                     std::span<const std::uint8_t> transcript_hash);

/// Constant-time equality of two byte strings of the same length (false when lengths differ).
bool equal_secret(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace portcullis::net::tls13

// The public-key operations of the gateway's own TLS 1.3 server handshake
// (net/tls13_server_handshake.h), with OpenSSL doing the maths: the X25519 exchange, our ECDSA
// P-256 CertificateVerify signature (through the EC_KEY: no EVP context per signature), and the
// check of a client's CertificateVerify for the signature schemes TLS 1.3 allows.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/tls13_key_schedule.h"
#include "net/tls13_wire.h"

namespace portcullis::net::tls13 {

inline constexpr std::uint16_t kX25519 = 0x001d;
inline constexpr std::size_t kX25519Size = 32;

// Signature schemes (RFC 8446 §4.2.3).
inline constexpr std::uint16_t kEcdsaP256Sha256 = 0x0403;
inline constexpr std::uint16_t kEcdsaP384Sha384 = 0x0503;
inline constexpr std::uint16_t kEcdsaP521Sha512 = 0x0603;
inline constexpr std::uint16_t kEd25519 = 0x0807;
inline constexpr std::uint16_t kEd448 = 0x0808;
inline constexpr std::uint16_t kRsaPssRsaeSha256 = 0x0804;
inline constexpr std::uint16_t kRsaPssRsaeSha512 = 0x0806;
inline constexpr std::uint16_t kRsaPssPssSha256 = 0x0809;
inline constexpr std::uint16_t kRsaPssPssSha512 = 0x080b;

/// A fresh X25519 key pair: the shared secret with `peer` and our public share. False when the
/// peer's share is unusable (the all-zero result included: OpenSSL refuses to derive it).
bool x25519(Bytes peer, std::array<std::uint8_t, kX25519Size>& ours, Digest& shared);

/// ECDSA P-256 with SHA-256 over `content`, DER-encoded, with `key` (an EC P-256 key).
bool sign_p256(EVP_PKEY* key, Bytes content, std::vector<std::uint8_t>& signature);

/// The curve NID of an EC key (NID_undef for another key type).
int ec_curve(const EVP_PKEY* key);

enum class SignatureCheck {
  Verified,
  WrongScheme,  ///< a scheme TLS 1.3 forbids here (PKCS#1 v1.5), or not the key's type or curve
  Bad,          ///< the signature does not verify
};
/// A CertificateVerify signature by `key` with `scheme` (ECDSA: the curve must match the
/// scheme; RSA-PSS with a salt of the hash's length; Ed25519, Ed448).
SignatureCheck verify_signature(EVP_PKEY* key, std::uint16_t scheme, Bytes content,
                                Bytes signature);

}  // namespace portcullis::net::tls13

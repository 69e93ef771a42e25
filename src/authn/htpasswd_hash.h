// Password hashes of htpasswd files: recognising a scheme (strictly, so a plaintext or broken
// entry is refused at load), verifying a password (libxcrypt, libargon2, OpenSSL; MD5-crypt
// and {SHA} here), and making a hash with the same scheme and cost (the unknown-user dummy).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portcullis::authn {

enum class HashScheme : std::uint8_t {
  Bcrypt,       ///< $2y$ / $2b$ / $2a$ (libxcrypt)
  Sha256Crypt,  ///< $5$ (libxcrypt)
  Sha512Crypt,  ///< $6$ (libxcrypt)
  Argon2id,     ///< $argon2id$ (libargon2)
  Argon2i,      ///< $argon2i$
  Argon2d,      ///< $argon2d$ (accepted with a warning: not meant for passwords)
  Apr1,         ///< $apr1$ Apache MD5-crypt (weak: accepted with a warning)
  Md5Crypt,     ///< $1$ MD5-crypt (weak: accepted with a warning)
  Sha1,         ///< {SHA} base64(SHA-1(password)), unsalted (weak: accepted with a warning)
};

/// "bcrypt", "sha256-crypt", "argon2id", "apr1", "{SHA}", ...
std::string_view scheme_name(HashScheme scheme);

/// True for the schemes accepted only with a load-time warning (apr1, $1$, {SHA}, argon2d).
bool is_weak(HashScheme scheme);

/// The result of checking a stored hash: its scheme, or why it is refused. `problem` never
/// quotes the hash itself.
struct HashCheck {
  std::optional<HashScheme> scheme;
  std::string problem;  ///< set when `scheme` is empty
};

/// Recognises `hash` strictly (prefix, cost range, alphabet, lengths). Plaintext, DES crypt,
/// legacy $2x$ and anything malformed are refused with a reason.
HashCheck check_hash(std::string_view hash);

/// The work parameters of a hash: what decides how long verifying it takes.
struct HashParameters {
  HashScheme scheme = HashScheme::Bcrypt;
  std::uint32_t cost = 0;         ///< bcrypt log2 rounds, SHA-crypt rounds, argon2 t
  std::uint32_t memory_kib = 0;   ///< argon2 m
  std::uint32_t parallelism = 0;  ///< argon2 p
  std::uint32_t version = 0;      ///< argon2 version (0x10 or 0x13)
  std::uint32_t tag_bytes = 0;    ///< argon2 output length

  bool operator==(const HashParameters&) const = default;
  /// "bcrypt cost 10", "sha512-crypt rounds 5000", "argon2id m=65536 t=2 p=1", "apr1".
  std::string to_string() const;
};

/// The parameters of a recognised hash (nullopt when check_hash refuses it).
std::optional<HashParameters> hash_parameters(std::string_view hash);

/// Verifies `password` against `hash`. False for a wrong password, a malformed or unsupported
/// hash, or a password the scheme cannot represent (a NUL byte); never throws. Comparisons of
/// computed and stored hashes are constant-time.
bool verify_hash(std::string_view hash, std::string_view password);

/// Hashes `password` with the scheme and parameters of `reference` and a fresh random salt
/// (the unknown-user dummy; also handy in tests). Fails when `reference` is not recognised.
core::Result<std::string> hash_like(std::string_view reference, std::string_view password);

}  // namespace portcullis::authn

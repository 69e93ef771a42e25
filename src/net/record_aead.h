// One AEAD key schedule for TLS 1.3 records: seal or open one record with a nonce, its header as
// the additional data and a 16-byte tag. It calls the functions of the OpenSSL provider that
// implements the cipher directly (provider-cipher(7), the dispatch table the EVP layer itself
// calls), because OpenSSL 3.0's EVP layer builds and searches parameter arrays for every nonce
// and tag (EVP_CIPHER_CTX_get_iv_length, EVP_CIPHER_CTX_ctrl: ~35 % of sealing a small record).
// Where the provider's table cannot be had, it uses the EVP layer as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace portcullis::net {

/// The TLS 1.3 AEADs the gateway protects records with itself (TLS_AES_128_CCM_* connections
/// stay with OpenSSL).
enum class RecordAead : std::uint8_t { Aes128Gcm, Aes256Gcm, ChaCha20Poly1305 };

inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;

/// The key size of `aead`: 16 bytes for AES-128-GCM, 32 for the others.
constexpr std::size_t aead_key_size(RecordAead aead) {
  return aead == RecordAead::Aes128Gcm ? 16 : 32;
}

/// How a context reaches the cipher: the provider's functions (where they can be had) or the
/// EVP layer. The default is Provider; PORTCULLIS_RECORD_AEAD=evp makes it Evp (comparisons).
enum class AeadPath : std::uint8_t { Provider, Evp };
AeadPath default_aead_path();

class AeadContext {
 public:
  AeadContext() = default;
  ~AeadContext() { reset(); }
  AeadContext(const AeadContext&) = delete;
  AeadContext& operator=(const AeadContext&) = delete;

  /// Sets the key (aead_key_size bytes) for sealing (`encrypt`) or opening.
  bool init(RecordAead aead, const std::uint8_t* key, bool encrypt,
            AeadPath path = default_aead_path());
  /// Encrypts `text` in place and writes the tag; `aad` is the record header.
  bool seal(const std::uint8_t* nonce, std::span<const std::uint8_t> aad, std::uint8_t* text,
            std::size_t length, std::uint8_t* tag);
  /// Decrypts `text` in place; false when the tag does not authenticate (the caller wipes).
  bool open(const std::uint8_t* nonce, std::span<const std::uint8_t> aad, std::uint8_t* text,
            std::size_t length, const std::uint8_t* tag);
  /// Wipes and frees the key schedule.
  void reset();

  /// Whether OpenSSL offers `aead` at all.
  static bool available(RecordAead aead);
  /// Whether the provider's functions of `aead` could be had (else Provider means Evp).
  static bool provider_available(RecordAead aead);
  /// Whether this context calls the provider's functions.
  bool uses_provider() const { return direct_ != nullptr; }

  /// The provider's functions of one cipher (record_aead.cpp).
  struct Direct;

 private:
  const Direct* direct_ = nullptr;  ///< the provider's functions, when used
  void* state_ = nullptr;           ///< the provider's context, or an EVP_CIPHER_CTX
  bool encrypt_ = true;
};

}  // namespace portcullis::net

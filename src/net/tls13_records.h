// TLS 1.3 record protection (RFC 8446 §5.2–5.5, §7.1–7.2, §4.6.3) for a connection whose
// handshake the gateway ran (net/tls13_server_handshake.h) or OpenSSL completed and handed over
// (net/tls_handoff.h): traffic keys from a traffic secret, sealing and opening records (the own
// handshake's encrypted flight too), and KeyUpdate. No sockets here: bytes in, bytes out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/record_aead.h"

namespace portcullis::net {

/// The AEAD of a TLS 1.3 cipher suite (SSL_CIPHER_get_protocol_id), if the gateway supports it.
std::optional<RecordAead> record_aead_for_suite(std::uint16_t suite);

/// Record content types (RFC 8446 §5.1).
enum class ContentType : std::uint8_t {
  ChangeCipherSpec = 20,
  Alert = 21,
  Handshake = 22,
  ApplicationData = 23,
};

/// Alert descriptions the record layer sends or names (RFC 8446 §6).
enum class AlertCode : std::uint8_t {
  CloseNotify = 0,
  UnexpectedMessage = 10,
  BadRecordMac = 20,
  RecordOverflow = 22,
  IllegalParameter = 47,
  DecodeError = 50,
  InternalError = 80,
  UserCanceled = 90,
};

/// "bad_record_mac", or "unknown" for a description without a name here.
std::string_view alert_name(std::uint8_t description);

inline constexpr std::size_t kRecordHeaderSize = 5;
inline constexpr std::size_t kRecordTagSize = kAeadTagSize;
inline constexpr std::size_t kMaxRecordPlaintext = 16384;
/// RFC 8446 §5.2: a TLSCiphertext carries at most 2^14 + 256 bytes.
inline constexpr std::size_t kMaxRecordCiphertext = kMaxRecordPlaintext + 256;
inline constexpr std::size_t kMaxRecordSize = kRecordHeaderSize + kMaxRecordCiphertext;
/// What sealing adds to a plaintext: header, inner content type, tag.
inline constexpr std::size_t kRecordOverhead = kRecordHeaderSize + 1 + kRecordTagSize;

/// One direction's record protection: its traffic secret and the record sequence number; the
/// key and IV are derived from the secret when first needed. Secrets are wiped on destruction.
class TrafficKeys {
 public:
  /// From a traffic secret of the suite's hash length (32 for SHA-256, 48 for SHA-384) and the
  /// number of records already protected with it. nullopt when the length does not fit.
  static std::optional<TrafficKeys> from_secret(RecordAead aead,
                                                std::span<const std::uint8_t> secret,
                                                std::uint64_t sequence);
  ~TrafficKeys();
  TrafficKeys(TrafficKeys&& other) noexcept;
  TrafficKeys& operator=(TrafficKeys&& other) noexcept;
  TrafficKeys(const TrafficKeys&) = delete;
  TrafficKeys& operator=(const TrafficKeys&) = delete;

  RecordAead aead() const { return aead_; }
  std::uint64_t sequence() const { return sequence_; }

  /// KeyUpdate (RFC 8446 §7.2): the next traffic secret, sequence 0. False on a derivation
  /// failure (the keys are unusable then).
  bool update();

  /// Seals `pieces` (kMaxRecordPlaintext bytes at most in all) as one record of `type` into
  /// `out`, which must hold the pieces' size + kRecordOverhead. The pieces are gathered after
  /// the header and encrypted in place: none may overlap `out` unless it is already where it
  /// goes. Returns the record's size, or 0 when the AEAD failed or the sequence number is
  /// exhausted.
  std::size_t seal(ContentType type, std::span<const std::span<const std::uint8_t>> pieces,
                   std::uint8_t* out);

  /// Opens one whole record in place: `record` is the header and its ciphertext (exactly). On
  /// success the inner content type and the plaintext's size (it starts at
  /// record + kRecordHeaderSize); otherwise the alert to send.
  struct Opened {
    bool ok = false;
    ContentType type = ContentType::ApplicationData;
    std::size_t size = 0;
    AlertCode alert = AlertCode::BadRecordMac;
  };
  Opened open(std::span<std::uint8_t> record);

 private:
  TrafficKeys() = default;
  bool derive();
  void forget();

  RecordAead aead_ = RecordAead::Aes128Gcm;
  std::uint8_t secret_size_ = 0;
  bool derived_ = false;
  std::array<std::uint8_t, 48> secret_{};
  std::array<std::uint8_t, 32> key_{};
  std::array<std::uint8_t, 12> iv_{};
  std::uint64_t sequence_ = 0;
  std::uint64_t id_ = 0;  ///< names this key in the per-thread cipher cache; never reused
};

/// The length of the record at the start of `bytes`, once its header is there (nullopt before);
/// record_overflow when the header announces more than a TLS 1.3 record may carry, and
/// unexpected_message for an outer type other than application_data.
struct RecordFraming {
  std::optional<std::size_t> size;
  std::optional<AlertCode> error;
};
RecordFraming frame_record(std::span<const std::uint8_t> bytes);

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, SHA-256 or SHA-384 by the AEAD.
bool hkdf_expand_label(RecordAead aead, std::span<const std::uint8_t> secret,
                       std::string_view label, std::span<std::uint8_t> out);

}  // namespace portcullis::net

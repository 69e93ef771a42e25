// TLS 1.3 record protection with OpenSSL's AEADs. Cipher contexts live in a small per-thread
// cache keyed by traffic key, so an idle connection holds 100-odd bytes of keys, not the two
// ~1 KiB contexts OpenSSL keeps per connection, and a busy one is not re-keyed per record.
#include "net/tls13_records.h"

#include "net/tls13_key_schedule.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstring>
#include <string>

namespace portcullis::net {
namespace {

/// The suite's hash: SHA-384 for TLS_AES_256_GCM_SHA384, SHA-256 otherwise.
std::size_t hash_size(RecordAead aead) {
  return aead == RecordAead::Aes256Gcm ? 48 : 32;
}

std::atomic<std::uint64_t> next_key_id{1};

/// Per-thread AEAD contexts, direct-mapped by key id. A slot keeps its key schedule between
/// records of the same key; another key taking the slot re-keys it.
class CipherCache {
 public:
  AeadContext* acquire(std::uint64_t id, RecordAead aead, const std::uint8_t* key, bool encrypt) {
    Slot& s = slots_[id % slots_.size()];
    if (s.owner == id) return &s.ctx;
    s.owner = 0;
    if (!s.ctx.init(aead, key, encrypt)) return nullptr;
    s.owner = id;
    return &s.ctx;
  }

  /// Wipes the key schedule of `id` if this thread's cache holds it.
  void forget(std::uint64_t id) {
    Slot& s = slots_[id % slots_.size()];
    if (s.owner != id) return;
    s.ctx.reset();
    s.owner = 0;
  }

 private:
  struct Slot {
    std::uint64_t owner = 0;
    AeadContext ctx;
  };
  std::array<Slot, 128> slots_{};
};

CipherCache& cipher_cache() {
  thread_local CipherCache cache;
  return cache;
}

}  // namespace

std::optional<RecordAead> record_aead_for_suite(std::uint16_t suite) {
  switch (suite) {
    case 0x1301:
      return RecordAead::Aes128Gcm;
    case 0x1302:
      return RecordAead::Aes256Gcm;
    case 0x1303:
      return RecordAead::ChaCha20Poly1305;
    default:
      return std::nullopt;
  }
}

std::string_view alert_name(std::uint8_t description) {
  switch (description) {
    case 0:
      return "close_notify";
    case 10:
      return "unexpected_message";
    case 20:
      return "bad_record_mac";
    case 22:
      return "record_overflow";
    case 40:
      return "handshake_failure";
    case 42:
      return "bad_certificate";
    case 43:
      return "unsupported_certificate";
    case 44:
      return "certificate_revoked";
    case 45:
      return "certificate_expired";
    case 46:
      return "certificate_unknown";
    case 47:
      return "illegal_parameter";
    case 48:
      return "unknown_ca";
    case 49:
      return "access_denied";
    case 50:
      return "decode_error";
    case 51:
      return "decrypt_error";
    case 70:
      return "protocol_version";
    case 71:
      return "insufficient_security";
    case 80:
      return "internal_error";
    case 86:
      return "inappropriate_fallback";
    case 90:
      return "user_canceled";
    case 109:
      return "missing_extension";
    case 110:
      return "unsupported_extension";
    case 112:
      return "unrecognized_name";
    case 116:
      return "certificate_required";
    case 120:
      return "no_application_protocol";
    default:
      return "unknown";
  }
}

bool hkdf_expand_label(RecordAead aead, std::span<const std::uint8_t> secret,
                       std::string_view label, std::span<std::uint8_t> out) {
  // The key schedule's low-level HMAC (net/tls13_key_schedule.h): no EVP_MAC context per call.
  if (out.size() > hash_size(aead)) return false;
  return tls13::hkdf_expand_label(
      aead == RecordAead::Aes256Gcm ? tls13::HashAlg::Sha384 : tls13::HashAlg::Sha256, secret,
      label, {}, out);
}

RecordFraming frame_record(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kRecordHeaderSize) return {};
  // SECURITY: after the handshake every TLS 1.3 record is protected (outer type
  // application_data); a plaintext alert, handshake or change_cipher_spec record is refused.
  if (bytes[0] != static_cast<std::uint8_t>(ContentType::ApplicationData)) {
    return {std::nullopt, AlertCode::UnexpectedMessage};
  }
  const std::size_t length = (std::size_t{bytes[3]} << 8) | bytes[4];
  if (length > kMaxRecordCiphertext) return {std::nullopt, AlertCode::RecordOverflow};
  return {kRecordHeaderSize + length, std::nullopt};
}

// ---- TrafficKeys ------------------------------------------------------------------------------

std::optional<TrafficKeys> TrafficKeys::from_secret(RecordAead aead,
                                                    std::span<const std::uint8_t> secret,
                                                    std::uint64_t sequence) {
  if (secret.size() != hash_size(aead) || !AeadContext::available(aead)) return std::nullopt;
  TrafficKeys keys;
  keys.aead_ = aead;
  keys.secret_size_ = static_cast<std::uint8_t>(secret.size());
  std::memcpy(keys.secret_.data(), secret.data(), secret.size());
  keys.sequence_ = sequence;
  keys.id_ = next_key_id.fetch_add(1, std::memory_order_relaxed);
  return keys;
}

TrafficKeys::~TrafficKeys() {
  forget();
  OPENSSL_cleanse(secret_.data(), secret_.size());
  OPENSSL_cleanse(key_.data(), key_.size());
  OPENSSL_cleanse(iv_.data(), iv_.size());
}

TrafficKeys::TrafficKeys(TrafficKeys&& other) noexcept {
  *this = std::move(other);
}

TrafficKeys& TrafficKeys::operator=(TrafficKeys&& other) noexcept {
  if (this == &other) return *this;
  forget();
  aead_ = other.aead_;
  secret_size_ = other.secret_size_;
  derived_ = other.derived_;
  secret_ = other.secret_;
  key_ = other.key_;
  iv_ = other.iv_;
  sequence_ = other.sequence_;
  id_ = other.id_;
  other.id_ = 0;  // the cache entry, if any, is ours now
  other.derived_ = false;
  other.secret_size_ = 0;  // SECURITY: a moved-from key cannot derive (and so cannot seal)
  OPENSSL_cleanse(other.secret_.data(), other.secret_.size());
  OPENSSL_cleanse(other.key_.data(), other.key_.size());
  OPENSSL_cleanse(other.iv_.data(), other.iv_.size());
  return *this;
}

void TrafficKeys::forget() {
  if (id_ != 0) cipher_cache().forget(id_);
}

bool TrafficKeys::derive() {
  if (derived_) return true;
  const std::span<const std::uint8_t> secret(secret_.data(), secret_size_);
  derived_ =
      hkdf_expand_label(aead_, secret, "key", std::span(key_.data(), aead_key_size(aead_))) &&
      hkdf_expand_label(aead_, secret, "iv", iv_);
  return derived_;
}

bool TrafficKeys::update() {
  std::array<std::uint8_t, 48> next{};
  const bool ok = hkdf_expand_label(aead_, std::span(secret_.data(), secret_size_), "traffic upd",
                                    std::span(next.data(), secret_size_));
  forget();
  secret_ = next;
  OPENSSL_cleanse(next.data(), next.size());
  derived_ = false;
  sequence_ = 0;
  id_ = next_key_id.fetch_add(1, std::memory_order_relaxed);
  if (!ok) secret_size_ = 0;  // SECURITY: never go on with the old key
  return ok;
}

namespace {

/// The per-record nonce: the IV with the sequence number XORed into its last 8 bytes.
std::array<std::uint8_t, 12> record_nonce(const std::array<std::uint8_t, 12>& iv,
                                          std::uint64_t sequence) {
  auto nonce = iv;
  for (int i = 0; i < 8; ++i) {
    nonce[11 - i] ^= static_cast<std::uint8_t>(sequence >> (8 * i));
  }
  return nonce;
}

}  // namespace

std::size_t TrafficKeys::seal(ContentType type,
                              std::span<const std::span<const std::uint8_t>> pieces,
                              std::uint8_t* out) {
  std::size_t total = 0;
  for (const auto& p : pieces) total += p.size();
  if (total > kMaxRecordPlaintext || secret_size_ == 0 || !derive()) return 0;
  if (sequence_ == UINT64_MAX) return 0;  // RFC 8446 §5.3: the sequence number never wraps
  const std::size_t length = total + 1 + kRecordTagSize;
  out[0] = static_cast<std::uint8_t>(ContentType::ApplicationData);
  out[1] = 0x03;
  out[2] = 0x03;
  out[3] = static_cast<std::uint8_t>(length >> 8);
  out[4] = static_cast<std::uint8_t>(length & 0xff);
  // The inner plaintext (content | type) is gathered in place and encrypted with one call:
  // per-call EVP overhead costs more than copying a record's pieces.
  std::uint8_t* text = out + kRecordHeaderSize;
  std::uint8_t* at = text;
  for (const auto& piece : pieces) {
    if (piece.empty()) continue;
    if (piece.data() != at) std::memmove(at, piece.data(), piece.size());
    at += piece.size();
  }
  *at++ = static_cast<std::uint8_t>(type);
  const auto inner = static_cast<std::size_t>(at - text);
  AeadContext* ctx = cipher_cache().acquire(id_, aead_, key_.data(), true);
  if (ctx == nullptr) return 0;
  const auto nonce = record_nonce(iv_, sequence_);
  const bool ok = ctx->seal(nonce.data(), std::span<const std::uint8_t>(out, kRecordHeaderSize),
                            text, inner, at);
  if (!ok) {
    forget();
    return 0;
  }
  ++sequence_;
  return kRecordHeaderSize + length;
}

TrafficKeys::Opened TrafficKeys::open(std::span<std::uint8_t> record) {
  Opened result;
  if (record.size() < kRecordHeaderSize + 1 + kRecordTagSize) return result;  // bad_record_mac
  const std::size_t sealed = record.size() - kRecordHeaderSize - kRecordTagSize;
  if (record.size() > kMaxRecordSize) {
    result.alert = AlertCode::RecordOverflow;
    return result;
  }
  if (secret_size_ == 0 || !derive() || sequence_ == UINT64_MAX) {
    result.alert = AlertCode::InternalError;
    return result;
  }
  AeadContext* ctx = cipher_cache().acquire(id_, aead_, key_.data(), false);
  if (ctx == nullptr) {
    result.alert = AlertCode::InternalError;
    return result;
  }
  const auto nonce = record_nonce(iv_, sequence_);
  std::uint8_t* text = record.data() + kRecordHeaderSize;
  // In place: OpenSSL's AEADs accept the same buffer for input and output.
  const bool ok =
      ctx->open(nonce.data(), record.first(kRecordHeaderSize), text, sealed, text + sealed);
  if (!ok) {
    // SECURITY: nothing of a record that fails authentication is used; the plaintext written
    // in place is wiped.
    OPENSSL_cleanse(text, sealed);
    return result;  // bad_record_mac
  }
  ++sequence_;
  // The inner plaintext is content | type | zero padding (RFC 8446 §5.4).
  std::size_t end = sealed;
  while (end > 0 && text[end - 1] == 0) --end;
  if (end == 0) {
    result.alert = AlertCode::UnexpectedMessage;
    return result;
  }
  const std::uint8_t type = text[end - 1];
  if (end - 1 > kMaxRecordPlaintext) {
    result.alert = AlertCode::RecordOverflow;
    return result;
  }
  if (type != static_cast<std::uint8_t>(ContentType::Alert) &&
      type != static_cast<std::uint8_t>(ContentType::Handshake) &&
      type != static_cast<std::uint8_t>(ContentType::ApplicationData)) {
    result.alert = AlertCode::UnexpectedMessage;
    return result;
  }
  result.ok = true;
  result.type = static_cast<ContentType>(type);
  result.size = end - 1;
  return result;
}

}  // namespace portcullis::net

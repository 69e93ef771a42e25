// Writing and reading the length-prefixed fields of TLS handshake messages (RFC 8446 §3) for the
// gateway's own server handshake: a Writer that appends to a byte vector and fills vector
// lengths in when they close, and a bounds-checked Reader over a received message body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace portcullis::net::tls13 {

using Bytes = std::span<const std::uint8_t>;

inline constexpr std::uint16_t kTls13 = 0x0304;

// Handshake message types (RFC 8446 §4), and the type + uint24 length before each body.
inline constexpr std::uint8_t kClientHello = 1;
inline constexpr std::uint8_t kServerHello = 2;
inline constexpr std::uint8_t kNewSessionTicket = 4;
inline constexpr std::uint8_t kEncryptedExtensions = 8;
inline constexpr std::uint8_t kCertificate = 11;
inline constexpr std::uint8_t kCertificateRequest = 13;
inline constexpr std::uint8_t kCertificateVerify = 15;
inline constexpr std::uint8_t kFinished = 20;
inline constexpr std::size_t kHandshakeHeaderSize = 4;

/// Extension types (RFC 8446 §4.2, RFC 6066, RFC 7301).
namespace ext {
inline constexpr std::uint16_t kServerName = 0;
inline constexpr std::uint16_t kStatusRequest = 5;
inline constexpr std::uint16_t kSupportedGroups = 10;
inline constexpr std::uint16_t kSignatureAlgorithms = 13;
inline constexpr std::uint16_t kAlpn = 16;
inline constexpr std::uint16_t kPreSharedKey = 41;
inline constexpr std::uint16_t kEarlyData = 42;
inline constexpr std::uint16_t kSupportedVersions = 43;
inline constexpr std::uint16_t kCookie = 44;
inline constexpr std::uint16_t kPskKeyExchangeModes = 45;
inline constexpr std::uint16_t kCertificateAuthorities = 47;
inline constexpr std::uint16_t kPostHandshakeAuth = 49;
inline constexpr std::uint16_t kSignatureAlgorithmsCert = 50;
inline constexpr std::uint16_t kKeyShare = 51;
}  // namespace ext

/// Appends big-endian integers and bytes to `out`.
class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u24(std::uint32_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  /// Opens a length-prefixed vector of `width` bytes (1, 2 or 3); close() fills the length in.
  std::size_t open(int width) {
    const std::size_t at = out_.size();
    out_.resize(at + static_cast<std::size_t>(width));
    return at | (static_cast<std::size_t>(width) << 56);
  }
  void close(std::size_t mark) {
    const int width = static_cast<int>(mark >> 56);
    const std::size_t at = mark & ((std::size_t{1} << 56) - 1);
    const std::size_t n = out_.size() - at - static_cast<std::size_t>(width);
    for (int i = 0; i < width; ++i) {
      out_[at + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(n >> (8 * (width - 1 - i)));
    }
  }

 private:
  std::vector<std::uint8_t>& out_;
};

/// A cursor over a handshake message or part of one. Every read checks the bytes left first and
/// fails (leaving the output untouched) rather than reading past the end; `base` is where the
/// reader's bytes start within the whole message, so offsets can be reported in its terms.
class Reader {
 public:
  explicit Reader(Bytes data, std::size_t base = 0) : data_(data), base_(base) {}

  bool empty() const { return pos_ == data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  /// The offset of the next byte within the whole message.
  std::size_t offset() const { return base_ + pos_; }

  bool u8(std::uint8_t& out) {
    if (remaining() < 1) return false;
    out = data_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& out) {
    if (remaining() < 2) return false;
    out = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u24(std::uint32_t& out) {
    if (remaining() < 3) return false;
    out = (std::uint32_t{data_[pos_]} << 16) | (std::uint32_t{data_[pos_ + 1]} << 8) |
          data_[pos_ + 2];
    pos_ += 3;
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (remaining() < 4) return false;
    out = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
          (std::uint32_t{data_[pos_ + 2]} << 8) | data_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool bytes(std::size_t n, Bytes& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  /// opaque field<min..max> with a one-byte length.
  bool vec8(Bytes& out, std::size_t min, std::size_t max = 0xff) {
    std::uint8_t n = 0;
    return u8(n) && n >= min && n <= max && bytes(n, out);
  }
  /// opaque field<min..max> with a two-byte length.
  bool vec16(Bytes& out, std::size_t min, std::size_t max = 0xffff) {
    std::uint16_t n = 0;
    return u16(n) && n >= min && n <= max && bytes(n, out);
  }
  /// A two-byte-length vector as a reader of its own, keeping offsets relative to the message.
  bool sub16(Reader& out, std::size_t min, std::size_t max = 0xffff) {
    const std::size_t start = offset() + 2;
    Bytes body;
    if (!vec16(body, min, max)) return false;
    out = Reader(body, start);
    return true;
  }
  bool sub8(Reader& out, std::size_t min, std::size_t max = 0xff) {
    const std::size_t start = offset() + 1;
    Bytes body;
    if (!vec8(body, min, max)) return false;
    out = Reader(body, start);
    return true;
  }

 private:
  Bytes data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace portcullis::net::tls13
